"""A pyusb backend (``usb.backend.IBackend``) serving emulated devices.

``usb.core.find(backend=EmulatedUsbBackend(EmulatedUru4000()))`` enumerates
the emulated reader like libusb enumerates a real one, and every transfer the
driver makes goes through pyusb's own ``Device`` code into this backend:
descriptors, standard GET_DESCRIPTOR requests (strings), configuration and
interface claiming, vendor control requests, interrupt and bulk reads. Errors
are raised as pyusb's libusb1 backend raises them.

Plugging is physical: :meth:`EmulatedUsbBackend.unplug` makes every open
handle fail with "no device" and hides the device from enumeration;
:meth:`EmulatedUsbBackend.replug` power-cycles it and enumerates it again
under a new address, as the kernel does.
"""

from __future__ import annotations

import array
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import usb.backend

from drivers.usb.emulator.descriptors import (
    DT_CONFIG,
    DT_DEVICE,
    DT_STRING,
    LANGID_EN_US,
    ConfigurationDescriptor,
    EndpointDescriptor,
    EnumeratedDescriptor,
    InterfaceDescriptor,
    langid_descriptor,
    string_descriptor,
)
from drivers.usb.emulator.faults import (
    LIBUSB_ERROR_ACCESS,
    LIBUSB_ERROR_BUSY,
    LIBUSB_ERROR_IO,
    LIBUSB_ERROR_NO_DEVICE,
    LIBUSB_ERROR_PIPE,
    LIBUSB_ERROR_TIMEOUT,
    FaultKind,
    FaultPoint,
    usb_error,
)
from drivers.usb.emulator.uru4000_device import EmulatedUru4000
from drivers.usb.uru4000_protocol import EP_DATA, EP_INTR

logger = logging.getLogger(__name__)

_GET_STATUS = 0x00
_GET_DESCRIPTOR = 0x06
_TYPE_MASK = 0x60
_TYPE_STANDARD = 0x00
_TYPE_VENDOR = 0x40
_DIR_IN = 0x80


@dataclass
class _Port:
    device: EmulatedUru4000
    bus: int
    address: int
    port_number: int
    generation: int = 0
    plugged: bool = True
    configuration: int = 1  # the kernel selects configuration 1 when it enumerates


@dataclass(frozen=True)
class _DeviceRef:
    port: _Port
    generation: int


@dataclass
class _Handle:
    ref: _DeviceRef
    claimed: set[int]
    closed: bool = False


class EmulatedUsbBackend(usb.backend.IBackend):  # type: ignore[misc]  # pyusb is untyped
    """Serves :class:`EmulatedUru4000` devices to pyusb."""

    def __init__(self, *devices: EmulatedUru4000, bus: int = 1) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._bus = bus
        self._ports: list[_Port] = []
        self._next_address = 2  # address 1 is the root hub
        #: Names of the threads that performed transfers (tests check it is not the loop's).
        self.transfer_threads: set[str] = set()
        for device in devices:
            self.plug(device)

    # ------------------------------------------------------------ plugging

    def plug(self, device: EmulatedUru4000) -> None:
        with self._lock:
            if any(p.device is device for p in self._ports):
                raise ValueError("device is already attached")
            self._ports.append(_Port(device, self._bus, self._take_address(), len(self._ports) + 1))
            device.power_cycle()

    def _take_address(self) -> int:
        address = self._next_address
        self._next_address = 2 if address >= 127 else address + 1
        return address

    def _port(self, device: EmulatedUru4000) -> _Port:
        for port in self._ports:
            if port.device is device:
                return port
        raise ValueError("device is not attached to this backend")

    def unplug(self, device: EmulatedUru4000) -> None:
        """Pull the cable: open handles die, enumeration no longer lists it."""
        with self._lock:
            port = self._port(device)
            port.plugged = False
            port.generation += 1
        device.wake()
        logger.debug("emulated %s unplugged", device.model.name)

    def replug(self, device: EmulatedUru4000) -> None:
        """Plug the cable back in: power-on state, a new bus address."""
        with self._lock:
            port = self._port(device)
            port.plugged = True
            port.generation += 1
            port.address = self._take_address()
            port.configuration = 1
        device.power_cycle()

    def address_of(self, device: EmulatedUru4000) -> tuple[int, int]:
        with self._lock:
            port = self._port(device)
            return port.bus, port.address

    def _alive(self, ref: _DeviceRef) -> bool:
        return ref.port.plugged and ref.port.generation == ref.generation

    def _check(self, handle: _Handle) -> _Port:
        self.transfer_threads.add(threading.current_thread().name)
        if handle.closed or not self._alive(handle.ref):
            raise usb_error(LIBUSB_ERROR_NO_DEVICE)
        return handle.ref.port

    def _fault(self, handle: _Handle, point: FaultPoint, timeout_ms: int) -> FaultKind | None:
        """Apply the fault armed at ``point``; return the kinds the device itself renders."""
        port = handle.ref.port
        kind = port.device.faults.take(point)
        if kind is None:
            return None
        logger.debug("injecting %s at %s", kind, point)
        if kind is FaultKind.UNPLUG:
            self.unplug(port.device)
            raise usb_error(LIBUSB_ERROR_NO_DEVICE)
        codes = {
            FaultKind.ACCESS: LIBUSB_ERROR_ACCESS,
            FaultKind.BUSY: LIBUSB_ERROR_BUSY,
            FaultKind.IO: LIBUSB_ERROR_IO,
        }
        if kind in codes:
            raise usb_error(codes[kind])
        if kind is FaultKind.TIMEOUT:
            deadline = time.monotonic() + (timeout_ms or 1000) / 1000
            while time.monotonic() < deadline and self._alive(handle.ref):
                time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))
            self._check(handle)
            raise usb_error(LIBUSB_ERROR_TIMEOUT)
        if kind is FaultKind.STALL:
            halts = {FaultPoint.IMAGE: EP_DATA, FaultPoint.IRQ: EP_INTR}
            if point in halts:
                port.device.halt(halts[point])  # stays halted until the host clears it
            raise usb_error(LIBUSB_ERROR_PIPE)
        return kind

    # ------------------------------------------------------------ descriptors

    def enumerate_devices(self) -> list[_DeviceRef]:
        with self._lock:
            return [_DeviceRef(p, p.generation) for p in self._ports if p.plugged]

    def get_parent(self, dev: _DeviceRef) -> None:
        return None

    def get_device_descriptor(self, dev: _DeviceRef) -> EnumeratedDescriptor:
        port = dev.port
        return EnumeratedDescriptor(
            port.device.descriptor, port.bus, port.address, port.port_number, (port.port_number,)
        )

    def get_configuration_descriptor(self, dev: _DeviceRef, config: int) -> ConfigurationDescriptor:
        return dev.port.device.descriptor.configurations[config]

    def get_interface_descriptor(
        self, dev: _DeviceRef, intf: int, alt: int, config: int
    ) -> InterfaceDescriptor:
        return self.get_configuration_descriptor(dev, config).alternates(intf)[alt]

    def get_endpoint_descriptor(
        self, dev: _DeviceRef, ep: int, intf: int, alt: int, config: int
    ) -> EndpointDescriptor:
        return self.get_interface_descriptor(dev, intf, alt, config).endpoints[ep]

    # ------------------------------------------------------------ handles

    def open_device(self, dev: _DeviceRef) -> _Handle:
        if not self._alive(dev):
            raise usb_error(LIBUSB_ERROR_NO_DEVICE)
        handle = _Handle(dev, set())
        self._fault(handle, FaultPoint.OPEN, 0)
        return handle

    def close_device(self, dev_handle: _Handle) -> None:
        dev_handle.closed = True

    def set_configuration(self, dev_handle: _Handle, config_value: int) -> None:
        port = self._check(dev_handle)
        values = [c.bConfigurationValue for c in port.device.descriptor.configurations]
        if config_value not in values and config_value != 0:
            raise usb_error(LIBUSB_ERROR_IO)
        port.configuration = config_value

    def get_configuration(self, dev_handle: _Handle) -> int:
        return self._check(dev_handle).configuration

    def set_interface_altsetting(self, dev_handle: _Handle, intf: int, altsetting: int) -> None:
        self._check(dev_handle)
        if altsetting != 0:
            raise usb_error(LIBUSB_ERROR_IO)

    def claim_interface(self, dev_handle: _Handle, intf: int) -> None:
        self._check(dev_handle)
        self._fault(dev_handle, FaultPoint.CLAIM, 0)
        dev_handle.claimed.add(intf)

    def release_interface(self, dev_handle: _Handle, intf: int) -> None:
        self._check(dev_handle)
        dev_handle.claimed.discard(intf)

    def is_kernel_driver_active(self, dev_handle: _Handle, intf: int) -> bool:
        self._check(dev_handle)
        return False

    def detach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        self._check(dev_handle)

    def attach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        self._check(dev_handle)

    def reset_device(self, dev_handle: _Handle) -> None:
        self._check(dev_handle).device.power_cycle()

    def clear_halt(self, dev_handle: _Handle, ep: int) -> None:
        self._check(dev_handle).device.clear_halt(ep)

    # ------------------------------------------------------------ transfers

    def ctrl_transfer(
        self,
        dev_handle: _Handle,
        bmRequestType: int,
        bRequest: int,
        wValue: int,
        wIndex: int,
        data: array.array[int],
        timeout: int,
    ) -> int:
        port = self._check(dev_handle)
        kind = bmRequestType & _TYPE_MASK
        if kind == _TYPE_STANDARD:
            if not bmRequestType & _DIR_IN:
                return len(data)  # SET_FEATURE and friends: accepted, no effect
            return _fill(data, self._standard_in(port, bRequest, wValue, wIndex))
        if kind != _TYPE_VENDOR:
            raise usb_error(LIBUSB_ERROR_PIPE)
        self._fault(dev_handle, FaultPoint.CONTROL, timeout)
        device = port.device
        if bmRequestType & _DIR_IN:
            return _fill(data, device.control_in(bRequest, wValue, len(data)))
        return device.control_out(bRequest, wValue, data.tobytes())

    def _standard_in(self, port: _Port, request: int, value: int, index: int) -> bytes:
        descriptor = port.device.descriptor
        if request == _GET_STATUS:
            return b"\x00\x00"
        if request != _GET_DESCRIPTOR:
            raise usb_error(LIBUSB_ERROR_PIPE)
        kind, number = value >> 8, value & 0xFF
        if kind == DT_DEVICE:
            return descriptor.pack()
        if kind == DT_CONFIG and number < len(descriptor.configurations):
            return descriptor.configurations[number].pack()
        if kind == DT_STRING:
            if number == 0:
                return langid_descriptor(LANGID_EN_US)
            if number in descriptor.strings and index == LANGID_EN_US:
                return string_descriptor(descriptor.strings[number])
        raise usb_error(LIBUSB_ERROR_PIPE)

    def intr_read(
        self, dev_handle: _Handle, ep: int, intf: int, buff: array.array[int], timeout: int
    ) -> int:
        self._check(dev_handle)
        fault = self._fault(dev_handle, FaultPoint.IRQ, timeout)
        device = dev_handle.ref.port.device
        alive = self._alive_check(dev_handle)
        return _fill(buff, device.read_irq(len(buff), timeout, alive, fault))

    def bulk_read(
        self, dev_handle: _Handle, ep: int, intf: int, buff: array.array[int], timeout: int
    ) -> int:
        self._check(dev_handle)
        fault = self._fault(dev_handle, FaultPoint.IMAGE, timeout)
        device = dev_handle.ref.port.device
        alive = self._alive_check(dev_handle)
        return _fill(buff, device.read_image(len(buff), timeout, alive, fault))

    def _alive_check(self, dev_handle: _Handle) -> Callable[[], bool]:
        return lambda: not dev_handle.closed and self._alive(dev_handle.ref)

    def bulk_write(
        self, dev_handle: _Handle, ep: int, intf: int, data: array.array[int], timeout: int
    ) -> int:
        self._check(dev_handle)
        raise usb_error(LIBUSB_ERROR_PIPE)  # the reader has no OUT endpoint

    intr_write = bulk_write


def _fill(buff: array.array[int], data: bytes) -> int:
    """Copy ``data`` into pyusb's buffer and return the count, as libusb does."""
    count = min(len(buff), len(data))
    buff[:count] = array.array("B", data[:count])
    return count
