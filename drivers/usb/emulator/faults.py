"""Fault injection for emulated USB devices, and the libusb errors they raise.

A :class:`FaultPlan` holds one-shot faults armed at a :class:`FaultPoint` (the
image endpoint, the interrupt endpoint, vendor control requests, opening the
device). Each transfer at that point consumes the next armed fault, so a test
says exactly what goes wrong and when::

    device.faults.arm(FaultPoint.IMAGE, FaultKind.STALL)          # next frame read stalls
    device.faults.arm(FaultPoint.IMAGE, FaultKind.SHORT, times=2)  # the two after are short

Errors are raised as the libusb1 backend of pyusb raises them
(``usb.core.USBError`` with the libusb code and errno, ``USBTimeoutError`` for
timeouts), so the driver's error mapping is exercised unchanged.
"""

from __future__ import annotations

import enum
import errno
import threading
from collections import deque
from dataclasses import dataclass

import usb.core

LIBUSB_ERROR_IO = -1
LIBUSB_ERROR_ACCESS = -3
LIBUSB_ERROR_NO_DEVICE = -4
LIBUSB_ERROR_BUSY = -6
LIBUSB_ERROR_TIMEOUT = -7
LIBUSB_ERROR_OVERFLOW = -8
LIBUSB_ERROR_PIPE = -9

_MESSAGES: dict[int, tuple[str, int]] = {
    LIBUSB_ERROR_IO: ("Input/Output Error", errno.EIO),
    LIBUSB_ERROR_ACCESS: ("Access denied (insufficient permissions)", errno.EACCES),
    LIBUSB_ERROR_NO_DEVICE: ("No such device (it may have been disconnected)", errno.ENODEV),
    LIBUSB_ERROR_BUSY: ("Resource busy", errno.EBUSY),
    LIBUSB_ERROR_TIMEOUT: ("Operation timed out", errno.ETIMEDOUT),
    LIBUSB_ERROR_OVERFLOW: ("Overflow", errno.EOVERFLOW),
    LIBUSB_ERROR_PIPE: ("Pipe error", errno.EPIPE),
}


def usb_error(code: int) -> usb.core.USBError:
    """The exception pyusb's libusb1 backend raises for libusb error ``code``."""
    message, err = _MESSAGES.get(code, ("Other error", errno.EIO))
    if code == LIBUSB_ERROR_TIMEOUT:
        return usb.core.USBTimeoutError(message, code, err)
    return usb.core.USBError(message, code, err)


class FaultPoint(enum.StrEnum):
    OPEN = "open"  # opening the device handle
    CLAIM = "claim"  # claiming the interface
    CONTROL = "control"  # vendor control requests (register I/O)
    IRQ = "irq"  # interrupt endpoint reads
    IMAGE = "image"  # bulk image endpoint reads


class FaultKind(enum.StrEnum):
    UNPLUG = "unplug"  # the device vanishes during the transfer and stays gone
    STALL = "stall"  # the endpoint halts until the host clears it (EPIPE)
    TIMEOUT = "timeout"  # no answer until the host's timeout expires
    SHORT = "short"  # the frame is cut short
    GARBAGE = "garbage"  # noise instead of a frame
    ACCESS = "access"  # the OS refuses access (no udev rule)
    BUSY = "busy"  # another process or driver holds the interface
    IO = "io"  # a generic I/O error
    DEATH = "death"  # the reader sends its 0x0800 "interrupt of death" first


@dataclass
class _Armed:
    point: FaultPoint
    kind: FaultKind
    remaining: int
    skip: int


class FaultPlan:
    """Faults armed for one emulated device (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: deque[_Armed] = deque()
        self.persistent: dict[FaultPoint, FaultKind] = {}
        self.fired: list[tuple[FaultPoint, FaultKind]] = []
        #: When set, image reads wait for it (bounded by the transfer timeout).
        self.image_gate: threading.Event | None = None
        #: Set by the device when an image read starts waiting on the gate.
        self.image_waiting = threading.Event()

    def arm(self, point: FaultPoint, kind: FaultKind, *, times: int = 1, after: int = 0) -> None:
        """Fail the ``times`` transfers at ``point`` that follow ``after`` good ones."""
        with self._lock:
            self._armed.append(_Armed(point, kind, times, after))

    def always(self, point: FaultPoint, kind: FaultKind | None) -> None:
        """Fail every transfer at ``point`` with ``kind`` (``None`` clears it)."""
        with self._lock:
            if kind is None:
                self.persistent.pop(point, None)
            else:
                self.persistent[point] = kind

    def hold_images(self) -> threading.Event:
        """Make image reads wait until the returned event is set (a slow transfer)."""
        self.image_waiting.clear()
        self.image_gate = threading.Event()
        return self.image_gate

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()
            self.persistent.clear()
        if self.image_gate is not None:
            self.image_gate.set()
        self.image_gate = None

    def take(self, point: FaultPoint) -> FaultKind | None:
        """The fault for this transfer at ``point``, if one is due."""
        with self._lock:
            if point in self.persistent:
                kind = self.persistent[point]
                self.fired.append((point, kind))
                return kind
            for armed in self._armed:
                if armed.point is not point:
                    continue
                if armed.skip > 0:
                    armed.skip -= 1
                    return None
                armed.remaining -= 1
                if armed.remaining <= 0:
                    self._armed.remove(armed)
                self.fired.append((point, armed.kind))
                return armed.kind
        return None
