"""Device errors, each carrying an operator-facing message key.

Driver code translates library exceptions (pyusb, OpenCV, HTTP) into these at
the boundary, so the daemon never has to know which library failed.
"""

from __future__ import annotations

from drivers.interfaces import DeviceState


class DeviceError(Exception):
    """Base class. ``message_key`` is a UI message key, never free text."""

    message_key = "device.error"

    def __init__(self, detail: str, *, device_id: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.device_id = device_id


class DeviceDisconnected(DeviceError):
    """The device went away (unplugged, re-enumerated, powered off)."""

    message_key = "device.disconnected"


class DeviceTimeout(DeviceError):
    """The device did not answer in time, or no finger/face arrived in time."""

    message_key = "device.timeout"


class DeviceCorruptData(DeviceError):
    """The device returned a short, garbled or undecodable frame."""

    message_key = "device.corrupt_data"


class DeviceAccessDenied(DeviceError):
    """The OS refused access (udev permissions, device busy in another process)."""

    message_key = "device.access_denied"


class DeviceBusy(DeviceAccessDenied):
    """The device is claimed by another process or driver (USB ``EBUSY``)."""

    message_key = "device.busy"


class DeviceStalled(DeviceError):
    """An endpoint stalled; the driver may clear the halt and retry."""

    message_key = "device.stalled"


class DeviceNotApproved(DeviceError):
    """The device is not on the approved-device allow-list."""

    message_key = "device.not_approved"


class CaptureCancelled(DeviceError):
    """The capture was cancelled by the operator."""

    message_key = "capture.cancelled"


class InvalidStateTransition(DeviceError):
    """A capture state machine was asked for a transition it does not allow."""

    message_key = "device.internal_error"


#: The device-list state a reader shows after an operation ended with each error. Data a
#: device signed wrongly is refused, not the device: it stays ready for the next try (the
#: allow-list refusal of a whole device is the supervisor's, at open).
_STATES: tuple[tuple[type[DeviceError], DeviceState], ...] = (
    (DeviceDisconnected, DeviceState.DISCONNECTED),
    (DeviceNotApproved, DeviceState.READY),
    (DeviceAccessDenied, DeviceState.ERROR),
    (DeviceTimeout, DeviceState.READY),
    (DeviceStalled, DeviceState.READY),
    (DeviceCorruptData, DeviceState.READY),
    (CaptureCancelled, DeviceState.READY),
)


def state_for_error(error: DeviceError) -> DeviceState:
    """The device-list state a driver shows after ``error`` (anything else: error)."""
    for cls, state in _STATES:
        if isinstance(error, cls):
            return state
    return DeviceState.ERROR
