"""``ctypes`` binding of the ``vsdk`` C ABI (see ``ABI.md`` in this package).

:func:`load_library` opens a vendor library by absolute path (refusing one that
group or others may write), declares every
function's argument and return types, and refuses a library whose ABI major
version is not :data:`ABI_MAJOR`. :class:`VsdkLibrary` wraps the calls so
that a non-zero return code becomes a :mod:`drivers.errors` exception with the
library's own ``vsdk_last_error`` text in its detail.

Every method here blocks; the reader runs them on its worker thread.
"""

from __future__ import annotations

import ctypes
import logging
import stat
from dataclasses import dataclass
from pathlib import Path

from drivers.errors import (
    CaptureCancelled,
    DeviceAccessDenied,
    DeviceBusy,
    DeviceCorruptData,
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
)

logger = logging.getLogger(__name__)

ABI_MAJOR = 1
ABI_MINOR = 0

OK = 0
E_GENERIC = -1
E_TIMEOUT = -2
E_UNPLUGGED = -3
E_CANCELLED = -4
E_BUSY = -5
E_NO_DEVICE = -6
E_BUFFER_TOO_SMALL = -7
E_BAD_ARGUMENT = -8
E_ACCESS = -9
E_CORRUPT = -10

CAP_FLAT_SINGLE = 0x1
CAP_ROLLED_SINGLE = 0x2
CAP_FOUR_SLAP = 0x4
CAP_TWO_THUMBS = 0x8
ROLLED = 1 << 16

_ERRORS: dict[int, type[DeviceError]] = {
    E_TIMEOUT: DeviceTimeout,
    E_UNPLUGGED: DeviceDisconnected,
    E_CANCELLED: CaptureCancelled,
    E_BUSY: DeviceBusy,
    E_NO_DEVICE: DeviceDisconnected,
    E_ACCESS: DeviceAccessDenied,
    E_CORRUPT: DeviceCorruptData,
}


class VendorSdkLoadError(DeviceError):
    """The library cannot be loaded, lacks a function, or speaks another ABI."""


class BufferTooSmall(DeviceError):
    """``vsdk_capture`` needs a larger buffer: ``width`` x ``height``."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(f"capture needs a {width}x{height} buffer")
        self.width = width
        self.height = height


class VsdkInfo(ctypes.Structure):
    _fields_ = (
        ("struct_size", ctypes.c_uint32),
        ("vendor", ctypes.c_char * 64),
        ("model", ctypes.c_char * 64),
        ("serial", ctypes.c_char * 64),
        ("firmware", ctypes.c_char * 32),
        ("usb_vid", ctypes.c_uint16),
        ("usb_pid", ctypes.c_uint16),
        ("max_width", ctypes.c_uint32),
        ("max_height", ctypes.c_uint32),
        ("native_ppi", ctypes.c_uint32),
        ("capabilities", ctypes.c_uint32),
    )


@dataclass(frozen=True)
class SdkDeviceInfo:
    vendor: str
    model: str
    serial: str
    firmware: str
    usb_vid: int
    usb_pid: int
    max_width: int
    max_height: int
    native_ppi: int
    capabilities: int


@dataclass(frozen=True)
class RawImage:
    data: bytes  # width * height bytes, 8-bit grayscale, row-major
    width: int
    height: int
    ppi: int


Handle = ctypes.c_void_p
_u32p = ctypes.POINTER(ctypes.c_uint32)

_SIGNATURES: dict[str, tuple[list[type], type]] = {
    "vsdk_abi_version": ([], ctypes.c_int32),
    "vsdk_open": ([ctypes.c_int32, ctypes.POINTER(Handle)], ctypes.c_int32),
    "vsdk_info": ([Handle, ctypes.POINTER(VsdkInfo)], ctypes.c_int32),
    "vsdk_capture": (
        [Handle, ctypes.c_uint32, ctypes.c_int32, ctypes.c_void_p, ctypes.c_uint32, *[_u32p] * 3],
        ctypes.c_int32,
    ),
    "vsdk_cancel": ([Handle], ctypes.c_int32),
    "vsdk_close": ([Handle], ctypes.c_int32),
    "vsdk_last_error": ([Handle, ctypes.c_char_p, ctypes.c_uint32], ctypes.c_int32),
}


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


class VsdkLibrary:
    """One loaded vendor library and its typed functions."""

    def __init__(self, path: Path, cdll: ctypes.CDLL) -> None:
        self.path = path
        self._lib = cdll
        self.version = int(cdll.vsdk_abi_version())

    def _last_error(self, handle: Handle | None) -> str:
        buffer = ctypes.create_string_buffer(128)
        self._lib.vsdk_last_error(handle, buffer, len(buffer))
        return _text(buffer.value)

    def _check(self, code: int, handle: Handle | None, what: str) -> None:
        if code == OK:
            return
        detail = f"{what} failed with vsdk code {code}: {self._last_error(handle)}"
        raise _ERRORS.get(code, DeviceError)(detail)

    def open(self, index: int) -> Handle:
        handle = Handle()
        self._check(self._lib.vsdk_open(index, ctypes.byref(handle)), None, "vsdk_open")
        if not handle.value:
            raise DeviceError("vsdk_open returned no handle")
        return handle

    def info(self, handle: Handle) -> SdkDeviceInfo:
        info = VsdkInfo(struct_size=ctypes.sizeof(VsdkInfo))
        self._check(self._lib.vsdk_info(handle, ctypes.byref(info)), handle, "vsdk_info")
        return SdkDeviceInfo(
            vendor=_text(info.vendor),
            model=_text(info.model),
            serial=_text(info.serial),
            firmware=_text(info.firmware),
            usb_vid=info.usb_vid,
            usb_pid=info.usb_pid,
            max_width=info.max_width,
            max_height=info.max_height,
            native_ppi=info.native_ppi,
            capabilities=info.capabilities,
        )

    def capture(self, handle: Handle, finger_mask: int, timeout_ms: int, size: int) -> RawImage:
        buffer = ctypes.create_string_buffer(size)
        width, height, ppi = ctypes.c_uint32(), ctypes.c_uint32(), ctypes.c_uint32()
        code = self._lib.vsdk_capture(
            handle,
            finger_mask,
            timeout_ms,
            buffer,
            size,
            ctypes.byref(width),
            ctypes.byref(height),
            ctypes.byref(ppi),
        )
        if code == E_BUFFER_TOO_SMALL:
            raise BufferTooSmall(width.value, height.value)
        self._check(code, handle, "vsdk_capture")
        pixels = width.value * height.value
        if not 0 < pixels <= size or not 0 < ppi.value < 10_000:
            raise DeviceCorruptData(
                f"vsdk_capture returned an impossible {width.value}x{height.value} image"
            )
        return RawImage(buffer.raw[:pixels], width.value, height.value, ppi.value)

    def cancel(self, handle: Handle) -> None:
        self._check(self._lib.vsdk_cancel(handle), handle, "vsdk_cancel")

    def close(self, handle: Handle) -> None:
        self._check(self._lib.vsdk_close(handle), None, "vsdk_close")


def load_library(path: Path) -> VsdkLibrary:
    """Load a vsdk library by absolute path and check its ABI version."""
    if not path.is_absolute():
        raise VendorSdkLoadError(f"vendor library path must be absolute: {path}")
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise VendorSdkLoadError(
            f"cannot read vendor library {path.name}: {exc.strerror}"
        ) from None
    if mode & (stat.S_IWGRP | stat.S_IWOTH):
        # Whoever can write the library runs code in the appliance: refuse it.
        raise VendorSdkLoadError(f"vendor library {path.name} is writable by group or others")
    try:
        cdll = ctypes.CDLL(str(path))
    except OSError as exc:
        raise VendorSdkLoadError(f"cannot load vendor library {path.name}: {exc}") from None
    for name, (argtypes, restype) in _SIGNATURES.items():
        try:
            function = getattr(cdll, name)
        except AttributeError:
            raise VendorSdkLoadError(f"{path.name} does not export {name}") from None
        function.argtypes = argtypes
        function.restype = restype
    library = VsdkLibrary(path, cdll)
    major, minor = library.version >> 16, library.version & 0xFFFF
    if major != ABI_MAJOR:
        raise VendorSdkLoadError(
            f"{path.name} implements vsdk ABI {major}.{minor}; this driver needs {ABI_MAJOR}.x"
        )
    logger.info("loaded vendor library %s (vsdk ABI %d.%d)", path.name, major, minor)
    return library
