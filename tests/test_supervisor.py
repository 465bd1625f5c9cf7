"""The device supervisor restarts failed devices within a budget, then gives up visibly."""

from __future__ import annotations

import asyncio

import pytest

from appliance.devices import DeviceRole, DeviceSupervisor, DeviceUnavailable
from drivers.errors import DeviceDisconnected
from drivers.interfaces import CameraControls, DeviceInfo, DeviceKind, DeviceState, Frame


class FlakyCamera:
    """A camera whose open() fails a given number of times."""

    def __init__(self, failures_before_open: int) -> None:
        self.failures_left = failures_before_open
        self.opens = 0
        self._state = DeviceState.CLOSED
        self._info = DeviceInfo("flaky", DeviceKind.CAMERA, "test", "Test", "Flaky")

    @property
    def info(self) -> DeviceInfo:
        return self._info

    @property
    def state(self) -> DeviceState:
        return self._state

    async def open(self) -> None:
        self.opens += 1
        if self.failures_left > 0:
            self.failures_left -= 1
            self._state = DeviceState.DISCONNECTED
            raise DeviceDisconnected("not there")
        self._state = DeviceState.READY

    async def close(self) -> None:
        self._state = DeviceState.CLOSED

    async def read_frame(self, timeout_s: float = 2.0) -> Frame:
        raise DeviceDisconnected("gone")

    async def set_controls(self, controls: CameraControls) -> CameraControls:
        return controls

    def controls(self) -> CameraControls:
        return CameraControls()


async def _wait_for(predicate: object, limit: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


async def test_failed_open_is_retried_until_it_works() -> None:
    camera = FlakyCamera(failures_before_open=2)
    supervisor = DeviceSupervisor(
        {DeviceRole.FACE_CAMERA: camera},
        restart_budget=5,
        restart_window_s=60,
        check_interval_s=0.01,
    )
    await supervisor.start()
    try:
        await _wait_for(lambda: camera.state is DeviceState.READY)
        assert camera.opens == 3
        [status] = supervisor.statuses()
        assert status.failures == 2
        assert status.restarts_in_window == 2
        assert supervisor.camera() is camera
    finally:
        await supervisor.stop()


async def test_budget_exhausted_leaves_device_in_error_until_reset() -> None:
    camera = FlakyCamera(failures_before_open=100)
    supervisor = DeviceSupervisor(
        {DeviceRole.FACE_CAMERA: camera},
        restart_budget=3,
        restart_window_s=60,
        check_interval_s=0.01,
    )
    await supervisor.start()
    try:
        await _wait_for(lambda: supervisor.statuses()[0].state is DeviceState.ERROR)
        assert camera.opens == 4  # first open + 3 restarts
        status = supervisor.statuses()[0]
        assert status.message_key == "device.restart_budget_exhausted"
        with pytest.raises(DeviceUnavailable) as info:
            supervisor.camera()
        assert info.value.message_key == "device.restart_budget_exhausted"
        await asyncio.sleep(0.1)
        assert camera.opens == 4  # gave up: no more attempts
        camera.failures_left = 0
        supervisor.reset(DeviceRole.FACE_CAMERA)
        await _wait_for(lambda: camera.state is DeviceState.READY)
    finally:
        await supervisor.stop()


async def test_unconfigured_role_is_unavailable() -> None:
    supervisor = DeviceSupervisor({}, restart_budget=1, restart_window_s=1)
    with pytest.raises(DeviceUnavailable):
        supervisor.reader()


class UsbCamera(FlakyCamera):
    def __init__(self, vid: int, pid: int) -> None:
        super().__init__(0)
        self._info = DeviceInfo(
            "usb-cam", DeviceKind.CAMERA, "opencv", "Acme", "Webcam 9000", usb_vid=vid, usb_pid=pid
        )


async def test_device_missing_from_the_allow_list_is_refused() -> None:
    from appliance.allowlist import DEFAULT_ALLOWLIST, allowlist_verdict, load_approved

    approved = load_approved(DEFAULT_ALLOWLIST)
    unknown = UsbCamera(0x1234, 0x5678)
    known = UsbCamera(0x046D, 0x085E)
    supervisor = DeviceSupervisor(
        {DeviceRole.FACE_CAMERA: unknown, DeviceRole.DOCUMENT_CAMERA: known},
        restart_budget=3,
        restart_window_s=60,
        check_interval_s=0.01,
        approve=lambda info: allowlist_verdict(approved, info),
    )
    await supervisor.start()
    try:
        await asyncio.sleep(0.05)
        rows = {s.role: s for s in supervisor.statuses()}
        refused = rows[DeviceRole.FACE_CAMERA]
        assert refused.state is DeviceState.REFUSED
        assert refused.message_key == "device.not_approved"
        assert "1234:5678" in (refused.last_error or "")
        assert unknown.opens == 1  # refused devices are not restarted
        assert rows[DeviceRole.DOCUMENT_CAMERA].state is DeviceState.READY
        with pytest.raises(DeviceUnavailable):
            supervisor.camera(DeviceRole.FACE_CAMERA)
    finally:
        await supervisor.stop()
