"""USB hotplug: know at once when an approved reader is unplugged or plugged back.

Two monitors with one interface: :class:`UdevMonitor` listens to the kernel's
uevents through pyudev where it is installed and ``/run/udev`` exists (a real
kiosk); :class:`PollingMonitor` enumerates the bus through pyusb every
``interval_s`` and reports the difference (containers, CI, no udev). Both call
``callback(UsbEvent)`` from their own thread; the consumer hops to its event
loop. The pyusb backend is injectable, so tests drive the polling monitor with
the emulated bus of :mod:`drivers.usb.emulator`.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UsbEvent:
    action: Literal["add", "remove"]
    vid: int
    pid: int
    bus: int
    address: int


UsbCallback = Callable[[UsbEvent], None]


class HotplugMonitor(Protocol):
    def start(self, callback: UsbCallback) -> None: ...

    def stop(self) -> None: ...


Key = tuple[int, int, int, int]  # vid, pid, bus, address


class PollingMonitor:
    """Enumerates the USB bus every ``interval_s`` and reports what changed."""

    def __init__(self, interval_s: float = 1.0, backend: Any = None) -> None:
        self._interval = interval_s
        self._backend = backend
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: set[Key] = set()

    def snapshot(self) -> set[Key]:
        import usb.core

        try:
            devices = usb.core.find(find_all=True, backend=self._backend)
            return {(d.idVendor, d.idProduct, d.bus or 0, d.address or 0) for d in devices}
        except (usb.core.USBError, usb.core.NoBackendError) as exc:
            logger.debug("USB enumeration failed: %s", exc)
            return set(self._seen)

    def poll(self, callback: UsbCallback) -> None:
        """One comparison with the previous enumeration (public for tests)."""
        now = self.snapshot()
        for vid, pid, bus, address in sorted(self._seen - now):
            callback(UsbEvent("remove", vid, pid, bus, address))
        for vid, pid, bus, address in sorted(now - self._seen):
            callback(UsbEvent("add", vid, pid, bus, address))
        self._seen = now

    def start(self, callback: UsbCallback) -> None:
        self._seen = self.snapshot()
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(self._interval):
                try:
                    self.poll(callback)
                except Exception:  # never let a monitor thread die silently
                    logger.exception("USB polling failed")

        self._thread = threading.Thread(target=run, name="usb-hotplug-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class UdevMonitor:
    """Kernel uevents for USB devices through pyudev (no polling)."""

    def __init__(self) -> None:
        import pyudev

        self._context = pyudev.Context()
        self._monitor = pyudev.Monitor.from_netlink(self._context)
        self._monitor.filter_by(subsystem="usb", device_type="usb_device")
        self._observer: Any = None

    def start(self, callback: UsbCallback) -> None:
        import pyudev

        def handle(action: str, device: Any) -> None:
            if action not in ("add", "remove"):
                return
            event = _udev_event(action, device)
            if event is not None:
                callback(event)

        self._observer = pyudev.MonitorObserver(self._monitor, handle, name="usb-hotplug-udev")
        self._observer.start()

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer = None


def _udev_event(action: str, device: Any) -> UsbEvent | None:
    props = device.properties
    product = props.get("PRODUCT")  # "5ba/a/100": vid/pid/bcdDevice in hex, also on remove
    try:
        if product:
            vid_text, pid_text, *_ = product.split("/")
            vid, pid = int(vid_text, 16), int(pid_text, 16)
        else:
            vid, pid = int(props["ID_VENDOR_ID"], 16), int(props["ID_MODEL_ID"], 16)
        bus, address = int(props.get("BUSNUM", 0)), int(props.get("DEVNUM", 0))
    except (KeyError, ValueError):
        return None
    return UsbEvent("add" if action == "add" else "remove", vid, pid, bus, address)


def create_monitor(interval_s: float = 1.0, backend: Any = None) -> HotplugMonitor:
    """pyudev when available on a udev system, else polling through pyusb."""
    if backend is None and importlib.util.find_spec("pyudev") and os.path.isdir("/run/udev"):
        try:
            return UdevMonitor()
        except Exception as exc:  # no netlink socket in this sandbox, for instance
            logger.info("udev monitor unavailable (%s): polling USB instead", exc)
    return PollingMonitor(interval_s, backend)
