"""Device supervisor: opens the configured devices and restarts failed ones within a budget.

The supervisor owns every device object. Callers borrow a device through
:meth:`DeviceSupervisor.camera` / :meth:`DeviceSupervisor.reader`; when an
operation raises a :class:`drivers.errors.DeviceError` they report it with
:meth:`DeviceSupervisor.report_failure`, and the supervision loop reopens the
device with backoff. More than ``restart_budget`` restarts within
``restart_window_s`` leaves the device in ``error`` until an operator or
technician asks for a reset: a flapping device must be visible, not hidden.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from appliance.tasks import cancel_and_wait
from drivers.errors import DeviceError
from drivers.hotplug import UsbEvent
from drivers.interfaces import Camera, DeviceInfo, DeviceState, DocumentReader, FingerprintReader

Device = Camera | FingerprintReader | DocumentReader

logger = logging.getLogger(__name__)


class DeviceRole(enum.StrEnum):
    FACE_CAMERA = "face_camera"
    DOCUMENT_CAMERA = "document_camera"
    FINGERPRINT_READER = "fingerprint_reader"
    DOCUMENT_READER = "document_reader"


class DeviceUnavailable(Exception):
    """The device for a role is not usable right now; ``message_key`` tells the operator why."""

    def __init__(self, role: DeviceRole, state: DeviceState, message_key: str) -> None:
        super().__init__(f"{role} is {state}")
        self.role = role
        self.state = state
        self.message_key = message_key


@dataclass
class _Slot:
    role: DeviceRole
    device: Device
    restarts: collections.deque[float] = field(default_factory=collections.deque)
    last_error: str | None = None
    message_key: str | None = None
    gave_up: bool = False
    refused: bool = False
    failures: int = 0
    unplugged: bool = False  # hotplug said the device left the bus
    replugged: bool = False  # hotplug said it is back: reopen on the next round


@dataclass(frozen=True)
class DeviceStatus:
    """One row of the device list."""

    role: DeviceRole
    info: DeviceInfo
    state: DeviceState
    restarts_in_window: int
    failures: int
    message_key: str | None
    last_error: str | None


def _state(slot: _Slot) -> DeviceState:
    if slot.refused:
        return DeviceState.REFUSED
    if slot.unplugged:
        return DeviceState.DISCONNECTED
    return DeviceState.ERROR if slot.gave_up else slot.device.state


class DeviceSupervisor:
    """Opens devices, watches them, and restarts failed ones within a budget."""

    def __init__(
        self,
        devices: dict[DeviceRole, Device],
        *,
        restart_budget: int,
        restart_window_s: float,
        check_interval_s: float = 1.0,
        on_tick: Callable[[], None] | None = None,
        approve: Callable[[DeviceInfo], str | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._slots = {role: _Slot(role, device) for role, device in devices.items()}
        self._budget = restart_budget
        self._window = restart_window_s
        self._interval = check_interval_s
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._on_tick = on_tick
        self._approve = approve
        self._clock = clock

    async def start(self) -> None:
        await self.open_all()
        self._task = asyncio.create_task(self._supervise(), name="device-supervisor")

    async def open_all(self) -> None:
        """Open every device once (what :meth:`start` does before supervising)."""
        for slot in self._slots.values():
            await self._open(slot)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        for slot in reversed(list(self._slots.values())):
            try:
                await slot.device.close()
            except DeviceError as exc:
                logger.warning("closing %s failed: %s", slot.role, exc.detail)

    def statuses(self) -> list[DeviceStatus]:
        now = self._clock()
        return [
            DeviceStatus(
                role=slot.role,
                info=slot.device.info,
                state=_state(slot),
                restarts_in_window=sum(1 for t in slot.restarts if now - t < self._window),
                failures=slot.failures,
                message_key=slot.message_key,
                last_error=slot.last_error,
            )
            for slot in self._slots.values()
        ]

    def camera(self, role: DeviceRole = DeviceRole.FACE_CAMERA) -> Camera:
        slot = self._usable(role)
        if not isinstance(slot.device, Camera):
            raise TypeError(f"{role} is not a camera")
        return slot.device

    def reader(self) -> FingerprintReader:
        slot = self._usable(DeviceRole.FINGERPRINT_READER)
        if not isinstance(slot.device, FingerprintReader):
            raise TypeError("fingerprint_reader is not a reader")
        return slot.device

    def document_reader(self) -> DocumentReader:
        slot = self._usable(DeviceRole.DOCUMENT_READER)
        if not isinstance(slot.device, DocumentReader):
            raise TypeError("document_reader is not a document reader")
        return slot.device

    def report_failure(self, role: DeviceRole, error: DeviceError) -> None:
        """A caller saw ``error`` from the device in ``role``; schedule a restart."""
        slot = self._slots[role]
        slot.failures += 1
        slot.last_error = error.detail
        slot.message_key = error.message_key
        logger.warning("device %s failed: %s (%s)", role, error.message_key, error.detail)
        self._wake.set()

    def on_usb_event(self, event: UsbEvent) -> None:
        """Hotplug (called on the event loop): an unplugged device shows as
        disconnected at once; plugging it back in is a fresh start, whatever
        the restart budget said, and the device is reopened now."""
        for slot in self._slots.values():
            info = slot.device.info
            if (info.usb_vid, info.usb_pid) != (event.vid, event.pid):
                continue
            if event.action == "remove":
                slot.unplugged = True
                slot.message_key = "device.disconnected"
                logger.warning("device %s unplugged", slot.role)
            else:
                slot.unplugged = False
                slot.gave_up = False
                slot.restarts.clear()
                slot.replugged = True
                logger.info("device %s plugged in", slot.role)
            self._wake.set()

    def reset(self, role: DeviceRole) -> None:
        """Technician action: forget the restart history and try again."""
        slot = self._slots[role]
        slot.gave_up = False
        slot.restarts.clear()
        self._wake.set()

    def _usable(self, role: DeviceRole) -> _Slot:
        slot = self._slots.get(role)
        if slot is None:
            raise DeviceUnavailable(role, DeviceState.CLOSED, "device.not_configured")
        state = _state(slot)
        if state not in (DeviceState.READY, DeviceState.BUSY):
            raise DeviceUnavailable(role, state, slot.message_key or f"device.{state}")
        return slot

    async def _open(self, slot: _Slot) -> bool:
        try:
            await slot.device.open()
        except DeviceError as exc:
            slot.failures += 1
            slot.last_error = exc.detail
            slot.message_key = exc.message_key
            logger.warning("opening %s failed: %s", slot.role, exc.message_key)
            return False
        refusal = self._approve(slot.device.info) if self._approve else None
        if refusal is not None:
            slot.refused = True
            slot.message_key = "device.not_approved"
            slot.last_error = refusal
            logger.error("device %s refused: %s", slot.role, refusal)
            await slot.device.close()
            return False
        slot.message_key = None
        slot.unplugged = False
        return True

    def _needs_restart(self, slot: _Slot) -> bool:
        if slot.replugged and not slot.refused:
            slot.replugged = False
            return True
        return (
            not slot.gave_up
            and not slot.refused
            and not slot.unplugged
            and slot.device.state
            in (
                DeviceState.DISCONNECTED,
                DeviceState.ERROR,
                DeviceState.CLOSED,
            )
        )

    async def _supervise(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.tick()

    async def tick(self) -> None:
        """One supervision round: restart every device that needs it, within the budget."""
        if self._on_tick is not None:
            self._on_tick()  # the watchdog's proof that supervision is alive
        for slot in self._slots.values():
            if self._needs_restart(slot):
                await self._restart(slot)

    async def _restart(self, slot: _Slot) -> None:
        now = self._clock()
        while slot.restarts and now - slot.restarts[0] >= self._window:
            slot.restarts.popleft()
        if len(slot.restarts) >= self._budget:
            slot.gave_up = True
            slot.message_key = "device.restart_budget_exhausted"
            logger.error(
                "device %s exceeded %d restarts in %.0fs; giving up until reset",
                slot.role,
                self._budget,
                self._window,
            )
            return
        slot.restarts.append(now)
        try:
            await slot.device.close()
        except DeviceError:
            pass
        if await self._open(slot):
            logger.info("device %s restarted", slot.role)
