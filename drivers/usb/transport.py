"""One claimed USB device whose transfers run on a dedicated worker thread.

pyusb transfers block; running them on the event loop would freeze the UI and
every other device. :class:`UsbTransport` owns a single-thread executor per
device, so transfers to one device are serialised (the order the protocol
needs) while the loop stays free. Every pyusb exception is translated into a
:class:`drivers.errors.DeviceError` by :func:`drivers.usb.errors.map_usb_error`.

The pyusb backend is a constructor argument: ``None`` means libusb on real
hardware, tests pass :class:`drivers.usb.emulator.EmulatedUsbBackend` or
:class:`drivers.usb.recording.ReplayBackend`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import usb.core
import usb.util

from drivers.errors import DeviceDisconnected, DeviceError
from drivers.usb.errors import LIBUSB_ERROR_ACCESS, map_usb_error

logger = logging.getLogger(__name__)

T = TypeVar("T")

CTRL_IN_VENDOR = 0xC0  # device-to-host | vendor | device
CTRL_OUT_VENDOR = 0x40  # host-to-device | vendor | device


@dataclass(frozen=True)
class UsbAddress:
    """Where a device sits on the bus right now (changes on re-enumeration)."""

    vid: int
    pid: int
    bus: int | None
    address: int | None
    serial: str = ""

    def describe(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x} bus {self.bus} addr {self.address}"


def list_usb_devices(backend: Any = None) -> list[Any]:
    """Every device the backend enumerates (``usb.core.find(find_all=True)``)."""
    try:
        return list(usb.core.find(find_all=True, backend=backend))
    except usb.core.NoBackendError:
        logger.warning("no libusb backend available; USB enumeration skipped")
        return []


def read_serial(device: Any, *, strict: bool = False) -> str:
    """The iSerialNumber string, or "" when the device has none or denies it.

    ``strict`` re-raises "access denied": when a reader is selected by serial
    number, a serial that cannot be read must not look like "no such reader".
    """
    if not device.iSerialNumber:
        return ""
    try:
        # get_langids raises the USB error (the langids property would hide it).
        langids = usb.util.get_langids(device)
        value = usb.util.get_string(device, device.iSerialNumber, langids[0] if langids else None)
    except usb.core.USBError as exc:
        if strict and exc.backend_error_code == LIBUSB_ERROR_ACCESS:
            raise
        return ""
    except (ValueError, NotImplementedError):
        return ""
    return value or ""


def find_device(
    backend: Any,
    ids: Callable[[int, int], bool],
    *,
    serial: str = "",
    bus: int | None = None,
    address: int | None = None,
) -> Any | None:
    """The first device whose VID:PID satisfies ``ids`` (and serial/bus/address if given)."""
    for dev in list_usb_devices(backend):
        if not ids(int(dev.idVendor), int(dev.idProduct)):
            continue
        if bus is not None and dev.bus != bus:
            continue
        if address is not None and dev.address != address:
            continue
        if serial and read_serial(dev, strict=True) != serial:
            continue
        return dev
    return None


class UsbTransport:
    """Claims one interface of ``device`` and performs transfers off the event loop."""

    def __init__(self, device: Any, *, device_id: str, interface: int) -> None:
        self._device = device
        self._device_id = device_id
        self._interface = interface
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"usb-{device_id}"
        )
        self._claimed = False
        self._closed = False
        self.address = UsbAddress(
            int(device.idVendor), int(device.idProduct), device.bus, device.address
        )

    @property
    def device(self) -> Any:
        return self._device

    async def _run(self, operation: str, fn: Callable[[], T]) -> T:
        if self._closed:
            raise DeviceDisconnected(f"{operation}: transport is closed", device_id=self._device_id)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except DeviceError:
            raise
        except Exception as exc:  # pyusb raises USBError, ValueError, IndexError...
            raise map_usb_error(exc, device_id=self._device_id, operation=operation) from exc

    async def claim(self) -> None:
        """Select configuration 1, detach a kernel driver if any, claim the interface."""

        def claim() -> None:
            dev = self._device
            try:
                if dev.is_kernel_driver_active(self._interface):
                    dev.detach_kernel_driver(self._interface)
            except (NotImplementedError, usb.core.USBError) as exc:
                if isinstance(exc, usb.core.USBError) and exc.backend_error_code in (-3, -6):
                    raise
            try:
                dev.get_active_configuration()
            except usb.core.USBError:
                dev.set_configuration()
            usb.util.claim_interface(dev, self._interface)

        await self._run("claim interface", claim)
        self._claimed = True

    async def ctrl_in(
        self, request: int, value: int, index: int, length: int, timeout_ms: int
    ) -> bytes:
        """Vendor control read of ``length`` bytes."""

        def op() -> bytes:
            data = self._device.ctrl_transfer(
                CTRL_IN_VENDOR, request, value, index, length, timeout_ms
            )
            return bytes(data)

        return await self._run(f"control read 0x{value:04x}", op)

    async def ctrl_out(
        self, request: int, value: int, index: int, data: bytes, timeout_ms: int
    ) -> int:
        """Vendor control write; returns the number of bytes the device accepted."""

        def op() -> int:
            return int(
                self._device.ctrl_transfer(CTRL_OUT_VENDOR, request, value, index, data, timeout_ms)
            )

        return await self._run(f"control write 0x{value:04x}", op)

    async def read(self, endpoint: int, size: int, timeout_ms: int) -> bytes:
        """Bulk or interrupt IN transfer (pyusb picks by the endpoint's type)."""

        def op() -> bytes:
            return bytes(self._device.read(endpoint, size, timeout_ms))

        return await self._run(f"read ep 0x{endpoint:02x}", op)

    async def clear_halt(self, endpoint: int) -> None:
        await self._run(
            f"clear halt ep 0x{endpoint:02x}", lambda: self._device.clear_halt(endpoint)
        )

    async def close(self) -> None:
        """Release the interface and the handle. Safe on a vanished device and twice."""
        if self._closed:
            return

        def release() -> None:
            try:
                if self._claimed:
                    usb.util.release_interface(self._device, self._interface)
            except (usb.core.USBError, ValueError):
                pass
            try:
                usb.util.dispose_resources(self._device)
            except (usb.core.USBError, ValueError):
                pass

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, release)
        self._closed = True
        self._executor.shutdown(wait=False)
