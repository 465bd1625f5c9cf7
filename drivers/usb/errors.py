"""Translate pyusb/libusb failures into device errors and device states.

libusb reports failures as negative codes; pyusb raises ``usb.core.USBError``
carrying ``backend_error_code`` (the libusb code) and ``errno``. The mapping:

==================  =========  ==========================  ====================
libusb code         errno      device error                device state
==================  =========  ==========================  ====================
-7 TIMEOUT          ETIMEDOUT  DeviceTimeout               ready (retryable)
-9 PIPE (stall)     EPIPE      DeviceStalled               ready (clear halt)
-4 NO_DEVICE        ENODEV     DeviceDisconnected          disconnected
-5 NOT_FOUND        ENOENT     DeviceDisconnected          disconnected
-3 ACCESS           EACCES     DeviceAccessDenied          error
-6 BUSY             EBUSY      DeviceBusy                  error
-8 OVERFLOW         EOVERFLOW  DeviceCorruptData           ready
-1 IO / others      EIO        DeviceError                 error
==================  =========  ==========================  ====================

Every error keeps its operator ``message_key`` (see :mod:`drivers.errors`); the
free-text detail is for logs only and never carries biometric data.
"""

from __future__ import annotations

import errno as errno_mod

import usb.core

from drivers.errors import (
    DeviceAccessDenied,
    DeviceBusy,
    DeviceCorruptData,
    DeviceDisconnected,
    DeviceError,
    DeviceStalled,
    DeviceTimeout,
)

LIBUSB_ERROR_IO = -1
LIBUSB_ERROR_ACCESS = -3
LIBUSB_ERROR_NO_DEVICE = -4
LIBUSB_ERROR_NOT_FOUND = -5
LIBUSB_ERROR_BUSY = -6
LIBUSB_ERROR_TIMEOUT = -7
LIBUSB_ERROR_OVERFLOW = -8
LIBUSB_ERROR_PIPE = -9

_BY_CODE: dict[int, type[DeviceError]] = {
    LIBUSB_ERROR_TIMEOUT: DeviceTimeout,
    LIBUSB_ERROR_PIPE: DeviceStalled,
    LIBUSB_ERROR_NO_DEVICE: DeviceDisconnected,
    LIBUSB_ERROR_NOT_FOUND: DeviceDisconnected,
    LIBUSB_ERROR_ACCESS: DeviceAccessDenied,
    LIBUSB_ERROR_BUSY: DeviceBusy,
    LIBUSB_ERROR_OVERFLOW: DeviceCorruptData,
}

_BY_ERRNO: dict[int, type[DeviceError]] = {
    errno_mod.ETIMEDOUT: DeviceTimeout,
    errno_mod.EPIPE: DeviceStalled,
    errno_mod.ENODEV: DeviceDisconnected,
    errno_mod.ENOENT: DeviceDisconnected,
    errno_mod.EACCES: DeviceAccessDenied,
    errno_mod.EPERM: DeviceAccessDenied,
    errno_mod.EBUSY: DeviceBusy,
    errno_mod.EOVERFLOW: DeviceCorruptData,
}


def map_usb_error(exc: BaseException, *, device_id: str, operation: str) -> DeviceError:
    """Return the :class:`DeviceError` for a pyusb exception raised by ``operation``."""
    if isinstance(exc, DeviceError):
        return exc
    if isinstance(exc, usb.core.NoBackendError):
        return DeviceError(
            f"{operation}: no libusb backend is installed (install libusb-1.0-0)",
            device_id=device_id,
        )
    if isinstance(exc, usb.core.USBTimeoutError):
        return DeviceTimeout(f"{operation}: USB transfer timed out", device_id=device_id)
    if isinstance(exc, usb.core.USBError):
        code = exc.backend_error_code
        cls = _BY_CODE.get(code) if isinstance(code, int) else None
        if cls is None and isinstance(exc.errno, int):
            cls = _BY_ERRNO.get(exc.errno)
        cls = cls or DeviceError
        return cls(f"{operation}: {_describe(cls)} ({exc.strerror})", device_id=device_id)
    if isinstance(exc, (ValueError, IndexError)):
        # pyusb raises these for a bad endpoint/interface, e.g. on a device that
        # re-enumerated with other descriptors.
        return DeviceError(f"{operation}: {exc}", device_id=device_id)
    return DeviceError(f"{operation}: {type(exc).__name__}: {exc}", device_id=device_id)


def _describe(cls: type[DeviceError]) -> str:
    return {
        DeviceTimeout: "timed out",
        DeviceStalled: "endpoint stalled",
        DeviceDisconnected: "device is gone",
        DeviceBusy: "device is busy (claimed by another driver or process)",
        DeviceAccessDenied: "access denied (check the udev rule)",
        DeviceCorruptData: "data overflow",
    }.get(cls, "I/O error")
