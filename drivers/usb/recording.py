"""Record a pyusb session to JSON lines, so a real device run can be replayed in CI.

:class:`RecordingBackend` wraps any pyusb backend (libusb on real hardware,
or :class:`drivers.usb.emulator.EmulatedUsbBackend`) and logs every
enumeration (with the full descriptor tree) and every operation on a device
handle: control transfers with their setup fields and data, endpoint reads
with the bytes returned, halts cleared, claims, and each error with its libusb
code. :class:`drivers.usb.replay.ReplayBackend` serves such a log back.

One JSON object per line; the first line is the header::

    {"format": "pyusb-session/1", "meta": {...}}
    {"op": "enumerate", "devices": [{"key": "1:5", "device": {...}, "configurations": [...]}]}
    {"op": "ctrl", "dev": "1:5", "bmRequestType": 192, "bRequest": 4, "wValue": 7,
     "wIndex": 0, "length": 1, "data": "80"}
    {"op": "read", "dev": "1:5", "ep": 129, "length": 64, "error": -7}

Only a synthetic finger may ever be recorded into the repository (the image
frames are in the log). Drivers that randomise protocol values (the U.are.U
scramble seed) must be given a seeded ``rng`` both when recording and when
replaying; the seed goes into ``meta``.
"""

from __future__ import annotations

import array
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import usb.backend
import usb.core

FORMAT = "pyusb-session/1"

DEVICE_FIELDS = (
    "bLength",
    "bDescriptorType",
    "bcdUSB",
    "bDeviceClass",
    "bDeviceSubClass",
    "bDeviceProtocol",
    "bMaxPacketSize0",
    "idVendor",
    "idProduct",
    "bcdDevice",
    "iManufacturer",
    "iProduct",
    "iSerialNumber",
    "bNumConfigurations",
    "address",
    "bus",
    "port_number",
    "port_numbers",
    "speed",
)
CONFIG_FIELDS = (
    "bLength",
    "bDescriptorType",
    "wTotalLength",
    "bNumInterfaces",
    "bConfigurationValue",
    "iConfiguration",
    "bmAttributes",
    "bMaxPower",
    "extra_descriptors",
)
INTERFACE_FIELDS = (
    "bLength",
    "bDescriptorType",
    "bInterfaceNumber",
    "bAlternateSetting",
    "bNumEndpoints",
    "bInterfaceClass",
    "bInterfaceSubClass",
    "bInterfaceProtocol",
    "iInterface",
    "extra_descriptors",
)
ENDPOINT_FIELDS = (
    "bLength",
    "bDescriptorType",
    "bEndpointAddress",
    "bmAttributes",
    "wMaxPacketSize",
    "bInterval",
    "bRefresh",
    "bSynchAddress",
    "extra_descriptors",
)

T = TypeVar("T")


def _value(raw: object) -> object:
    if raw is None or isinstance(raw, (bool, int, str)):
        return raw
    try:
        return [int(b) for b in raw]  # type: ignore[attr-defined]
    except TypeError:
        return int(raw)  # type: ignore[call-overload]


def _fields(descriptor: object, names: tuple[str, ...]) -> dict[str, object]:
    return {name: _value(getattr(descriptor, name, None)) for name in names}


def snapshot(backend: Any, dev: Any) -> dict[str, Any]:
    """The descriptor tree of one enumerated device, as plain JSON data."""
    device = _fields(backend.get_device_descriptor(dev), DEVICE_FIELDS)
    configurations: list[dict[str, Any]] = []
    for c in range(int(device["bNumConfigurations"])):  # type: ignore[call-overload]
        config = _fields(backend.get_configuration_descriptor(dev, c), CONFIG_FIELDS)
        interfaces: list[list[dict[str, Any]]] = []
        for i in range(int(config["bNumInterfaces"])):  # type: ignore[call-overload]
            alternates: list[dict[str, Any]] = []
            alt = 0
            while True:
                try:
                    intf = backend.get_interface_descriptor(dev, i, alt, c)
                except (IndexError, usb.core.USBError):
                    break
                entry = _fields(intf, INTERFACE_FIELDS)
                entry["endpoints"] = [
                    _fields(backend.get_endpoint_descriptor(dev, e, i, alt, c), ENDPOINT_FIELDS)
                    for e in range(int(entry["bNumEndpoints"]))  # type: ignore[call-overload]
                ]
                alternates.append(entry)
                alt += 1
            interfaces.append(alternates)
        config["interfaces"] = interfaces
        configurations.append(config)
    return {
        "key": f"{device['bus']}:{device['address']}",
        "device": device,
        "configurations": configurations,
    }


def error_fields(exc: BaseException) -> dict[str, object]:
    """How an exception is written to the log (pyusb errors keep their libusb code)."""
    if isinstance(exc, usb.core.USBError):
        return {
            "error": exc.backend_error_code,
            "errno": exc.errno,
            "strerror": exc.strerror,
            "timeout": isinstance(exc, usb.core.USBTimeoutError),
        }
    return {"error": None, "exception": type(exc).__name__, "strerror": str(exc)}


class RecordingBackend(usb.backend.IBackend):  # type: ignore[misc]  # pyusb is untyped
    """Passes every call to ``inner`` and appends what happened to ``sink``."""

    def __init__(
        self, inner: Any, sink: IO[str], *, meta: dict[str, Any] | None = None, owns: bool = False
    ) -> None:
        super().__init__()
        self._inner = inner
        self._sink = sink
        self._owns = owns
        self._lock = threading.Lock()
        self._keys: dict[int, str] = {}
        self._write({"format": FORMAT, "meta": meta or {}})

    @classmethod
    def to_file(
        cls, inner: Any, path: Path, *, meta: dict[str, Any] | None = None
    ) -> RecordingBackend:
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(inner, path.open("w", encoding="utf-8"), meta=meta, owns=True)

    def close(self) -> None:
        """Flush the log (and close it when this recorder opened the file)."""
        with self._lock:
            self._sink.flush()
            if self._owns:
                self._sink.close()

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"))
        with self._lock:
            self._sink.write(line + "\n")
            self._sink.flush()

    def _call(self, record: dict[str, Any], fn: Callable[[], T], show: Callable[[T], Any]) -> T:
        try:
            result = fn()
        except BaseException as exc:
            self._write({**record, **error_fields(exc)})
            raise
        shown = show(result)
        self._write(record if shown is None else {**record, **shown})
        return result

    def _call_int(
        self, record: dict[str, Any], fn: Callable[[], Any], show: Callable[[int], Any]
    ) -> int:
        return int(self._call(record, lambda: int(fn()), show))

    def _key(self, handle: Any) -> str:
        return self._keys.get(id(handle), "?")

    # ------------------------------------------------------------ enumeration

    def enumerate_devices(self) -> list[Any]:
        devices = list(self._inner.enumerate_devices())
        self._write({"op": "enumerate", "devices": [snapshot(self._inner, d) for d in devices]})
        return devices

    def get_parent(self, dev: Any) -> Any:
        return self._inner.get_parent(dev)

    def get_device_descriptor(self, dev: Any) -> Any:
        return self._inner.get_device_descriptor(dev)

    def get_configuration_descriptor(self, dev: Any, config: int) -> Any:
        return self._inner.get_configuration_descriptor(dev, config)

    def get_interface_descriptor(self, dev: Any, intf: int, alt: int, config: int) -> Any:
        return self._inner.get_interface_descriptor(dev, intf, alt, config)

    def get_endpoint_descriptor(self, dev: Any, ep: int, intf: int, alt: int, config: int) -> Any:
        return self._inner.get_endpoint_descriptor(dev, ep, intf, alt, config)

    # ------------------------------------------------------------ handle operations

    def open_device(self, dev: Any) -> Any:
        desc = self._inner.get_device_descriptor(dev)
        key = f"{desc.bus}:{desc.address}"
        handle = self._call({"op": "open", "dev": key}, lambda: self._inner.open_device(dev), _none)
        self._keys[id(handle)] = key
        return handle

    def close_device(self, dev_handle: Any) -> None:
        record = {"op": "close", "dev": self._key(dev_handle)}
        self._call(record, lambda: self._inner.close_device(dev_handle), _none)
        self._keys.pop(id(dev_handle), None)

    def _simple(self, op: str, handle: Any, fn: Callable[[], T], **fields: Any) -> T:
        record = {"op": op, "dev": self._key(handle), **fields}
        return self._call(record, fn, lambda r: None if r is None else {"result": _value(r)})

    def set_configuration(self, dev_handle: Any, config_value: int) -> None:
        self._simple(
            "set_configuration",
            dev_handle,
            lambda: self._inner.set_configuration(dev_handle, config_value),
            value=config_value,
        )

    def get_configuration(self, dev_handle: Any) -> int:
        return int(
            self._simple(
                "get_configuration", dev_handle, lambda: self._inner.get_configuration(dev_handle)
            )
        )

    def set_interface_altsetting(self, dev_handle: Any, intf: int, altsetting: int) -> None:
        self._simple(
            "set_altsetting",
            dev_handle,
            lambda: self._inner.set_interface_altsetting(dev_handle, intf, altsetting),
            intf=intf,
            alt=altsetting,
        )

    def claim_interface(self, dev_handle: Any, intf: int) -> None:
        inner = self._inner
        self._simple(
            "claim", dev_handle, lambda: inner.claim_interface(dev_handle, intf), intf=intf
        )

    def release_interface(self, dev_handle: Any, intf: int) -> None:
        inner = self._inner
        self._simple(
            "release", dev_handle, lambda: inner.release_interface(dev_handle, intf), intf=intf
        )

    def is_kernel_driver_active(self, dev_handle: Any, intf: int) -> bool:
        inner = self._inner
        return bool(
            self._simple(
                "kernel_driver_active",
                dev_handle,
                lambda: inner.is_kernel_driver_active(dev_handle, intf),
                intf=intf,
            )
        )

    def detach_kernel_driver(self, dev_handle: Any, intf: int) -> None:
        inner = self._inner
        self._simple(
            "detach_kernel_driver",
            dev_handle,
            lambda: inner.detach_kernel_driver(dev_handle, intf),
            intf=intf,
        )

    def attach_kernel_driver(self, dev_handle: Any, intf: int) -> None:
        inner = self._inner
        self._simple(
            "attach_kernel_driver",
            dev_handle,
            lambda: inner.attach_kernel_driver(dev_handle, intf),
            intf=intf,
        )

    def reset_device(self, dev_handle: Any) -> None:
        self._simple("reset", dev_handle, lambda: self._inner.reset_device(dev_handle))

    def clear_halt(self, dev_handle: Any, ep: int) -> None:
        self._simple(
            "clear_halt", dev_handle, lambda: self._inner.clear_halt(dev_handle, ep), ep=ep
        )

    # ------------------------------------------------------------ transfers

    def ctrl_transfer(
        self,
        dev_handle: Any,
        bmRequestType: int,
        bRequest: int,
        wValue: int,
        wIndex: int,
        data: array.array[int],
        timeout: int,
    ) -> int:
        record: dict[str, Any] = {
            "op": "ctrl",
            "dev": self._key(dev_handle),
            "bmRequestType": bmRequestType,
            "bRequest": bRequest,
            "wValue": wValue,
            "wIndex": wIndex,
            "length": len(data),
        }
        inbound = bool(bmRequestType & 0x80)
        if not inbound:
            record["data"] = data.tobytes().hex()

        def show(count: int) -> dict[str, Any]:
            if inbound:
                return {"data": data.tobytes()[:count].hex()}
            return {"result": int(count)}

        return self._call_int(
            record,
            lambda: self._inner.ctrl_transfer(
                dev_handle, bmRequestType, bRequest, wValue, wIndex, data, timeout
            ),
            show,
        )

    def _read(self, name: str, dev_handle: Any, ep: int, intf: int, buff: Any, timeout: int) -> int:
        record = {"op": "read", "dev": self._key(dev_handle), "ep": ep, "length": len(buff)}
        fn = getattr(self._inner, name)
        return self._call_int(
            record,
            lambda: fn(dev_handle, ep, intf, buff, timeout),
            lambda count: {"data": buff.tobytes()[:count].hex()},
        )

    def bulk_read(self, dev_handle: Any, ep: int, intf: int, buff: Any, timeout: int) -> int:
        return self._read("bulk_read", dev_handle, ep, intf, buff, timeout)

    def intr_read(self, dev_handle: Any, ep: int, intf: int, buff: Any, timeout: int) -> int:
        return self._read("intr_read", dev_handle, ep, intf, buff, timeout)

    def _write_ep(self, name: str, dev_handle: Any, ep: int, intf: int, data: Any, t: int) -> int:
        record = {
            "op": "write",
            "dev": self._key(dev_handle),
            "ep": ep,
            "data": data.tobytes().hex(),
        }
        fn = getattr(self._inner, name)
        return self._call_int(
            record, lambda: fn(dev_handle, ep, intf, data, t), lambda n: {"result": int(n)}
        )

    def bulk_write(self, dev_handle: Any, ep: int, intf: int, data: Any, timeout: int) -> int:
        return self._write_ep("bulk_write", dev_handle, ep, intf, data, timeout)

    def intr_write(self, dev_handle: Any, ep: int, intf: int, data: Any, timeout: int) -> int:
        return self._write_ep("intr_write", dev_handle, ep, intf, data, timeout)


def _none(_: object) -> None:
    return None
