"""Serve a recorded pyusb session (see :mod:`drivers.usb.recording`) as a backend.

The driver under test runs unchanged; each operation it makes on a device
handle must match the next record (operation, setup fields, endpoint, length,
and the data of OUT transfers), and gets the recorded answer: the same bytes,
or the same libusb error. A mismatch means the driver's behaviour changed: it
is kept in :attr:`ReplayBackend.mismatches` and raised as
:class:`ReplayMismatch`.

Interrupt endpoints are polled on a timer, so how many polls time out before
an interrupt arrives depends on timing, not on the driver. Recorded interrupt
timeouts are therefore skipped when the driver polls and the interrupt that
followed them is served at once; a poll with nothing left to serve times out
after the requested timeout.
"""

from __future__ import annotations

import array
import errno
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import usb.backend
import usb.core

from drivers.usb.recording import FORMAT

logger = logging.getLogger(__name__)


class ReplayMismatch(ValueError):
    """The driver did something the recorded session did not."""


@dataclass(frozen=True)
class _Ref:
    key: str
    tree: dict[str, Any]


@dataclass
class _Handle:
    key: str


def _namespace(fields: dict[str, Any]) -> SimpleNamespace:
    values = {
        k: (tuple(v) if isinstance(v, list) else v)
        for k, v in fields.items()
        if k not in ("interfaces", "endpoints")
    }
    return SimpleNamespace(**values)


class ReplayBackend(usb.backend.IBackend):  # type: ignore[misc]  # pyusb is untyped
    """Answers pyusb from a recorded session, checking the driver does the same things."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        super().__init__()
        if not records or records[0].get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} recording")
        self.meta: dict[str, Any] = dict(records[0].get("meta", {}))
        self._records = records[1:]
        self._cursor = 0
        self._lock = threading.Lock()
        self._intr_eps: set[int] = set()
        self.mismatches: list[str] = []

    @classmethod
    def from_file(cls, path: Path) -> ReplayBackend:
        with path.open(encoding="utf-8") as handle:
            return cls([json.loads(line) for line in handle if line.strip()])

    def remaining(self) -> list[dict[str, Any]]:
        """Records not served yet (ignoring interrupt polls that timed out)."""
        return [r for r in self._records[self._cursor :] if not self._is_intr_timeout(r)]

    # ------------------------------------------------------------ matching

    def _is_intr_timeout(self, record: dict[str, Any], ep: int | None = None) -> bool:
        return (
            record.get("op") == "read"
            and record.get("ep") in self._intr_eps
            and (ep is None or record.get("ep") == ep)
            and bool(record.get("timeout"))
        )

    def _expect(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._cursor >= len(self._records):
                return self._mismatch(request, None)
            record = self._records[self._cursor]
            for key, value in request.items():
                if record.get(key) != value:
                    return self._mismatch(request, record)
            self._cursor += 1
        return self._answer(record)

    def _mismatch(self, request: dict[str, Any], record: dict[str, Any] | None) -> dict[str, Any]:
        if record is None:
            text = f"replay: unexpected {request} after the end of the recording"
        else:
            differs = ", ".join(
                f"{key}: recorded {record.get(key)!r}, driver {value!r}"
                for key, value in request.items()
                if record.get(key) != value
            )
            text = f"replay: record {self._cursor + 1} ({record.get('op')}) differs: {differs}"
        self.mismatches.append(text)
        logger.error("%s", text)
        raise ReplayMismatch(text)

    @staticmethod
    def _answer(record: dict[str, Any]) -> dict[str, Any]:
        if "error" not in record:
            return record
        if record.get("exception"):
            raise ReplayMismatch(f"recorded {record['exception']}: {record.get('strerror')}")
        code, err, text = record["error"], record.get("errno"), record.get("strerror", "")
        if record.get("timeout"):
            raise usb.core.USBTimeoutError(text, code, err)
        raise usb.core.USBError(text, code, err)

    # ------------------------------------------------------------ enumeration

    def enumerate_devices(self) -> list[_Ref]:
        record = self._expect({"op": "enumerate"})
        refs = [_Ref(d["key"], d) for d in record["devices"]]
        for ref in refs:
            for config in ref.tree["configurations"]:
                for alternates in config["interfaces"]:
                    for intf in alternates:
                        for ep in intf["endpoints"]:
                            if ep["bmAttributes"] & 0x03 == 0x03:
                                self._intr_eps.add(int(ep["bEndpointAddress"]))
        return refs

    def get_parent(self, dev: _Ref) -> None:
        return None

    def get_device_descriptor(self, dev: _Ref) -> SimpleNamespace:
        return _namespace(dev.tree["device"])

    def get_configuration_descriptor(self, dev: _Ref, config: int) -> SimpleNamespace:
        return _namespace(dev.tree["configurations"][config])

    def get_interface_descriptor(
        self, dev: _Ref, intf: int, alt: int, config: int
    ) -> SimpleNamespace:
        return _namespace(dev.tree["configurations"][config]["interfaces"][intf][alt])

    def get_endpoint_descriptor(
        self, dev: _Ref, ep: int, intf: int, alt: int, config: int
    ) -> SimpleNamespace:
        interface = dev.tree["configurations"][config]["interfaces"][intf][alt]
        return _namespace(interface["endpoints"][ep])

    # ------------------------------------------------------------ handle operations

    def open_device(self, dev: _Ref) -> _Handle:
        self._expect({"op": "open", "dev": dev.key})
        return _Handle(dev.key)

    def close_device(self, dev_handle: _Handle) -> None:
        # libusb_close cannot fail: a close out of order is noted, never raised
        # (pyusb also closes from finalizers, at interpreter exit).
        try:
            self._expect({"op": "close", "dev": dev_handle.key})
        except ReplayMismatch:
            logger.debug("close of %s out of order in the replay", dev_handle.key)

    def _simple(self, op: str, handle: _Handle, **fields: Any) -> Any:
        return self._expect({"op": op, "dev": handle.key, **fields}).get("result")

    def set_configuration(self, dev_handle: _Handle, config_value: int) -> None:
        self._simple("set_configuration", dev_handle, value=config_value)

    def get_configuration(self, dev_handle: _Handle) -> int:
        return int(self._simple("get_configuration", dev_handle))

    def set_interface_altsetting(self, dev_handle: _Handle, intf: int, altsetting: int) -> None:
        self._simple("set_altsetting", dev_handle, intf=intf, alt=altsetting)

    def claim_interface(self, dev_handle: _Handle, intf: int) -> None:
        self._simple("claim", dev_handle, intf=intf)

    def release_interface(self, dev_handle: _Handle, intf: int) -> None:
        self._simple("release", dev_handle, intf=intf)

    def is_kernel_driver_active(self, dev_handle: _Handle, intf: int) -> bool:
        return bool(self._simple("kernel_driver_active", dev_handle, intf=intf))

    def detach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        self._simple("detach_kernel_driver", dev_handle, intf=intf)

    def attach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        self._simple("attach_kernel_driver", dev_handle, intf=intf)

    def reset_device(self, dev_handle: _Handle) -> None:
        self._simple("reset", dev_handle)

    def clear_halt(self, dev_handle: _Handle, ep: int) -> None:
        self._simple("clear_halt", dev_handle, ep=ep)

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
        request: dict[str, Any] = {
            "op": "ctrl",
            "dev": dev_handle.key,
            "bmRequestType": bmRequestType,
            "bRequest": bRequest,
            "wValue": wValue,
            "wIndex": wIndex,
            "length": len(data),
        }
        if not bmRequestType & 0x80:
            request["data"] = data.tobytes().hex()
            return int(self._expect(request)["result"])
        return _fill(data, self._expect(request)["data"])

    def bulk_read(self, dev_handle: _Handle, ep: int, intf: int, buff: Any, timeout: int) -> int:
        request = {"op": "read", "dev": dev_handle.key, "ep": ep, "length": len(buff)}
        return _fill(buff, self._expect(request)["data"])

    def intr_read(self, dev_handle: _Handle, ep: int, intf: int, buff: Any, timeout: int) -> int:
        request = {"op": "read", "dev": dev_handle.key, "ep": ep, "length": len(buff)}
        with self._lock:
            ahead = self._cursor
            while ahead < len(self._records) and self._is_intr_timeout(self._records[ahead], ep):
                ahead += 1
            following = self._records[ahead] if ahead < len(self._records) else {}
            if all(following.get(k) == v for k, v in request.items()):
                self._cursor = ahead  # skip the timing-dependent timeouts before the interrupt
            elif ahead == self._cursor:
                ahead = -1  # nothing recorded for this poll
        if ahead < 0:
            time.sleep(timeout / 1000 if timeout else 0.1)
            raise usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT)
        return _fill(buff, self._expect(request)["data"])

    def bulk_write(self, dev_handle: _Handle, ep: int, intf: int, data: Any, timeout: int) -> int:
        request = {"op": "write", "dev": dev_handle.key, "ep": ep, "data": data.tobytes().hex()}
        return int(self._expect(request)["result"])

    intr_write = bulk_write


def _fill(buff: array.array[int], hex_data: str) -> int:
    data = bytes.fromhex(hex_data)
    count = min(len(buff), len(data))
    buff[:count] = array.array("B", data[:count])
    return count
