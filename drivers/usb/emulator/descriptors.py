"""USB descriptors of emulated devices, shaped as pyusb's backends return them.

pyusb copies descriptor fields by name (``bLength``, ``idVendor``, ...) from
whatever a backend returns, so plain frozen dataclasses with those names are
enough. :func:`string_descriptor` and :func:`langid_descriptor` encode the
wire form of string descriptors (USB 2.0, section 9.6.7) for GET_DESCRIPTOR.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

DT_DEVICE = 0x01
DT_CONFIG = 0x02
DT_STRING = 0x03
DT_INTERFACE = 0x04
DT_ENDPOINT = 0x05

EP_TYPE_BULK = 0x02
EP_TYPE_INTR = 0x03

LANGID_EN_US = 0x0409
SPEED_FULL = 2  # libusb_speed: LIBUSB_SPEED_FULL (12 Mbit/s)


@dataclass(frozen=True)
class EndpointDescriptor:
    bEndpointAddress: int
    bmAttributes: int
    wMaxPacketSize: int
    bInterval: int
    bLength: int = 7
    bDescriptorType: int = DT_ENDPOINT
    bRefresh: int = 0
    bSynchAddress: int = 0
    extra_descriptors: tuple[int, ...] = ()

    def pack(self) -> bytes:
        return struct.pack(
            "<BBBBHB",
            self.bLength,
            self.bDescriptorType,
            self.bEndpointAddress,
            self.bmAttributes,
            self.wMaxPacketSize,
            self.bInterval,
        )


@dataclass(frozen=True)
class InterfaceDescriptor:
    bInterfaceNumber: int
    bInterfaceClass: int
    bInterfaceSubClass: int
    bInterfaceProtocol: int
    endpoints: tuple[EndpointDescriptor, ...]
    bAlternateSetting: int = 0
    iInterface: int = 0
    bLength: int = 9
    bDescriptorType: int = DT_INTERFACE
    extra_descriptors: tuple[int, ...] = ()

    @property
    def bNumEndpoints(self) -> int:
        return len(self.endpoints)

    def pack(self) -> bytes:
        head = struct.pack(
            "<BBBBBBBBB",
            self.bLength,
            self.bDescriptorType,
            self.bInterfaceNumber,
            self.bAlternateSetting,
            self.bNumEndpoints,
            self.bInterfaceClass,
            self.bInterfaceSubClass,
            self.bInterfaceProtocol,
            self.iInterface,
        )
        return head + b"".join(ep.pack() for ep in self.endpoints)


@dataclass(frozen=True)
class ConfigurationDescriptor:
    bConfigurationValue: int
    interfaces: tuple[InterfaceDescriptor, ...]
    bmAttributes: int = 0xA0  # bus powered, remote wakeup
    bMaxPower: int = 50  # 2 mA units: 100 mA
    iConfiguration: int = 0
    bLength: int = 9
    bDescriptorType: int = DT_CONFIG
    extra_descriptors: tuple[int, ...] = ()

    @property
    def bNumInterfaces(self) -> int:
        return len({i.bInterfaceNumber for i in self.interfaces})

    @property
    def wTotalLength(self) -> int:
        return len(self.pack())

    def pack(self) -> bytes:
        body = b"".join(i.pack() for i in self.interfaces)
        head = struct.pack(
            "<BBHBBBBB",
            self.bLength,
            self.bDescriptorType,
            9 + len(body),
            self.bNumInterfaces,
            self.bConfigurationValue,
            self.iConfiguration,
            self.bmAttributes,
            self.bMaxPower,
        )
        return head + body

    def alternates(self, index: int) -> list[InterfaceDescriptor]:
        """Alternate settings of the ``index``-th interface (logical order)."""
        numbers = sorted({i.bInterfaceNumber for i in self.interfaces})
        return [i for i in self.interfaces if i.bInterfaceNumber == numbers[index]]


@dataclass(frozen=True)
class DeviceDescriptor:
    idVendor: int
    idProduct: int
    bcdDevice: int
    configurations: tuple[ConfigurationDescriptor, ...]
    iManufacturer: int = 1
    iProduct: int = 2
    iSerialNumber: int = 3
    bcdUSB: int = 0x0110
    bDeviceClass: int = 0
    bDeviceSubClass: int = 0
    bDeviceProtocol: int = 0
    bMaxPacketSize0: int = 8
    bLength: int = 18
    bDescriptorType: int = DT_DEVICE
    strings: dict[int, str] = field(default_factory=dict, compare=False)

    @property
    def bNumConfigurations(self) -> int:
        return len(self.configurations)

    def pack(self) -> bytes:
        return struct.pack(
            "<BBHBBBBHHHBBBB",
            self.bLength,
            self.bDescriptorType,
            self.bcdUSB,
            self.bDeviceClass,
            self.bDeviceSubClass,
            self.bDeviceProtocol,
            self.bMaxPacketSize0,
            self.idVendor,
            self.idProduct,
            self.bcdDevice,
            self.iManufacturer,
            self.iProduct,
            self.iSerialNumber,
            self.bNumConfigurations,
        )


@dataclass(frozen=True)
class EnumeratedDescriptor:
    """What ``get_device_descriptor`` returns: the descriptor plus bus topology."""

    descriptor: DeviceDescriptor
    bus: int
    address: int
    port_number: int
    port_numbers: tuple[int, ...]
    speed: int = SPEED_FULL

    def __getattr__(self, name: str) -> object:
        # Descriptor fields (idVendor, bcdUSB, ...) come from the wrapped descriptor.
        return getattr(self.descriptor, name)


def string_descriptor(text: str) -> bytes:
    """A string descriptor: bLength, bDescriptorType 3, UTF-16LE text."""
    body = text.encode("utf-16-le")
    return bytes([2 + len(body), DT_STRING]) + body


def langid_descriptor(*langids: int) -> bytes:
    """String descriptor 0: the supported language ids."""
    body = b"".join(struct.pack("<H", lang) for lang in langids)
    return bytes([2 + len(body), DT_STRING]) + body
