"""Borrowing devices from the supervisor, with one way of reporting their failures.

Every device call of the capture service goes through :class:`DeviceAccess`: a
device that is not usable gives a :class:`CaptureError` carrying its state's
message key; a device that fails during a call is reported to the supervisor
(which restarts it within its budget) and counted in
``appliance_device_errors``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from appliance.capture.errors import CaptureError
from appliance.devices import DeviceRole, DeviceSupervisor, DeviceUnavailable
from appliance.metrics import ApplianceMetrics
from drivers.errors import DeviceCorruptData, DeviceError
from drivers.image_header import ImageHeaderError, check_frame
from drivers.interfaces import Camera, DeviceState, FingerprintReader, Frame


@dataclass(frozen=True)
class DeviceProblem:
    """A device the next step needs that is not usable, and why (a message key)."""

    role: DeviceRole
    state: DeviceState
    message_key: str


class DeviceAccess:
    def __init__(self, supervisor: DeviceSupervisor, metrics: ApplianceMetrics) -> None:
        self.supervisor = supervisor
        self._metrics = metrics

    def has(self, role: DeviceRole) -> bool:
        return any(s.role is role for s in self.supervisor.statuses())

    def document_role(self) -> DeviceRole:
        """The document camera when there is one, else the face camera."""
        if self.has(DeviceRole.DOCUMENT_CAMERA):
            return DeviceRole.DOCUMENT_CAMERA
        return DeviceRole.FACE_CAMERA

    def problems(self, roles: tuple[DeviceRole, ...]) -> list[DeviceProblem]:
        """The devices among ``roles`` that are configured but not usable now."""
        return [
            DeviceProblem(s.role, s.state, s.message_key or f"device.{s.state.value}")
            for s in self.supervisor.statuses()
            if s.role in roles and s.state not in (DeviceState.READY, DeviceState.BUSY)
        ]

    def camera(self, role: DeviceRole) -> Camera:
        try:
            return self.supervisor.camera(role)
        except DeviceUnavailable as exc:
            raise CaptureError(exc.message_key, str(exc)) from None

    def reader(self) -> FingerprintReader:
        try:
            return self.supervisor.reader()
        except DeviceUnavailable as exc:
            raise CaptureError(exc.message_key, str(exc)) from None

    async def read_frame(self, role: DeviceRole) -> Frame:
        """The next frame, refused (as corrupt data) unless it is a sane 8-bit image."""
        camera = self.camera(role)
        try:
            frame = await camera.read_frame()
            check_frame(frame.image)
        except ImageHeaderError as exc:
            error = DeviceCorruptData(f"camera frame refused: {exc}")
            self.failed(role, error)
            raise CaptureError(error.message_key, error.detail) from None
        except DeviceError as exc:
            self.failed(role, exc)
            raise CaptureError(exc.message_key, exc.detail) from None
        return frame

    @contextlib.contextmanager
    def using(self, role: DeviceRole) -> Iterator[None]:
        """Translate unavailability and device failures inside the block into CaptureError."""
        try:
            yield
        except DeviceUnavailable as exc:
            raise CaptureError(exc.message_key, str(exc)) from None
        except DeviceError as exc:
            self.failed(role, exc)
            raise CaptureError(exc.message_key, exc.detail) from None

    def failed(self, role: DeviceRole, error: DeviceError) -> None:
        """A device failed outside :meth:`using` (e.g. in the live preview)."""
        self.supervisor.report_failure(role, error)
        self._metrics.device_errors.labels(role.value, error.message_key).inc()
