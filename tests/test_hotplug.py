"""USB hotplug: the polling monitor sees an emulated reader leave and come back
under a new address, and the supervisor shows it disconnected, then reopens it."""

from __future__ import annotations

import asyncio
import time

import pytest

from appliance.devices import DeviceRole, DeviceSupervisor
from drivers.hotplug import PollingMonitor, UsbEvent, _udev_event, create_monitor
from drivers.interfaces import DeviceState
from drivers.usb.emulator.harness import FAST, emulated_rig

pytestmark = pytest.mark.timeout(60)


def test_polling_monitor_reports_unplug_and_replug_with_new_address() -> None:
    rig = emulated_rig(**FAST)
    monitor = PollingMonitor(backend=rig.backend)
    events: list[UsbEvent] = []
    monitor._seen = monitor.snapshot()
    monitor.poll(events.append)
    assert events == []
    rig.unplug()
    monitor.poll(events.append)
    rig.replug()
    monitor.poll(events.append)
    assert [e.action for e in events] == ["remove", "add"]
    assert {(e.vid, e.pid) for e in events} == {(0x05BA, 0x000A)}  # U.are.U 4500
    assert events[0].address != events[1].address


def test_polling_monitor_thread_delivers_events() -> None:
    rig = emulated_rig(**FAST)
    monitor = PollingMonitor(interval_s=0.02, backend=rig.backend)
    seen: list[UsbEvent] = []
    monitor.start(seen.append)
    try:
        rig.unplug()
        for _ in range(200):
            if seen:
                break
            time.sleep(0.01)
    finally:
        monitor.stop()
    assert seen and seen[0].action == "remove"


async def test_supervisor_follows_hotplug_events() -> None:
    rig = emulated_rig(**FAST)
    supervisor = DeviceSupervisor(
        {DeviceRole.FINGERPRINT_READER: rig.reader},
        restart_budget=3,
        restart_window_s=60,
        check_interval_s=0.05,
    )
    await supervisor.start()
    try:
        [status] = supervisor.statuses()
        assert status.state is DeviceState.READY
        vid, pid = rig.reader.info.usb_vid, rig.reader.info.usb_pid
        assert vid is not None and pid is not None
        rig.unplug()
        supervisor.on_usb_event(UsbEvent("remove", vid, pid, 1, 2))
        [status] = supervisor.statuses()
        assert status.state is DeviceState.DISCONNECTED
        assert status.message_key == "device.disconnected"
        rig.replug()
        supervisor.on_usb_event(UsbEvent("add", vid, pid, 1, 3))
        for _ in range(100):
            [status] = supervisor.statuses()
            if status.state is DeviceState.READY:
                break
            await asyncio.sleep(0.05)
        assert status.state is DeviceState.READY
    finally:
        await supervisor.stop()


def test_udev_event_parsing_and_monitor_choice() -> None:
    class Device:
        def __init__(self) -> None:
            self.properties = {"PRODUCT": "5ba/a/100", "BUSNUM": "001", "DEVNUM": "007"}

    assert _udev_event("remove", Device()) == UsbEvent("remove", 0x05BA, 0x000A, 1, 7)
    assert isinstance(create_monitor(backend=object()), PollingMonitor)
