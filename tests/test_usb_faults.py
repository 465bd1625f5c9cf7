"""Fault injection on the emulated U.are.U: unplug, stall, timeout, bad frames, access."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from drivers.errors import (
    CaptureCancelled,
    DeviceAccessDenied,
    DeviceBusy,
    DeviceCorruptData,
    DeviceDisconnected,
    DeviceStalled,
    DeviceTimeout,
)
from drivers.interfaces import (
    CaptureKind,
    CaptureRequest,
    CaptureState,
    DeviceState,
    FingerPosition,
    ReaderEvent,
)
from drivers.usb.emulator import EmulatedUru4000, FaultKind, FaultPoint, Presentation
from drivers.usb.emulator.harness import EmulatedRig, emulated_rig

pytestmark = pytest.mark.timeout(60)

REQUEST = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.LEFT_INDEX, timeout_s=5.0)


async def _opened(**config: object) -> EmulatedRig:
    rig = emulated_rig(**config)  # type: ignore[arg-type]
    await rig.reader.open()
    return rig


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


async def test_unplug_mid_capture_then_replug_under_a_new_address() -> None:
    rig = await _opened()
    before = rig.reader.bus_address
    rig.device.faults.arm(FaultPoint.IMAGE, FaultKind.UNPLUG)
    events: list[ReaderEvent] = []
    with pytest.raises(DeviceDisconnected) as caught:
        await rig.reader.capture(REQUEST, events.append)
    assert caught.value.message_key == "device.disconnected"
    assert rig.reader.state is DeviceState.DISCONNECTED
    assert rig.reader.capture_state is CaptureState.IDLE
    assert events[-1].state is CaptureState.IDLE
    assert events[-1].message_key == "device.disconnected"
    with pytest.raises(DeviceDisconnected):  # still unplugged
        await rig.reader.open()
    with pytest.raises(DeviceDisconnected):
        await rig.reader.capture(REQUEST)
    rig.replug()
    await rig.reader.open()
    assert rig.reader.state is DeviceState.READY
    assert rig.reader.bus_address != before
    assert rig.reader.bus_address == rig.backend.address_of(rig.device)
    image = await rig.reader.capture(REQUEST)
    assert image.pixels.shape == (283, 375)
    await rig.reader.close()


async def test_unplug_while_waiting_for_the_finger() -> None:
    rig = await _opened()
    rig.device.present(Presentation(no_finger=True))
    capture = asyncio.create_task(rig.reader.capture(REQUEST))
    await _until(lambda: rig.reader.capture_state is CaptureState.AWAITING_FINGER)
    rig.unplug()
    with pytest.raises(DeviceDisconnected):
        await capture
    assert rig.reader.state is DeviceState.DISCONNECTED
    rig.replug()
    await rig.reader.open()
    await rig.reader.capture(REQUEST)
    await rig.reader.close()


async def test_stalled_image_endpoint_is_cleared_and_the_frame_re_read() -> None:
    rig = await _opened()
    rig.device.faults.arm(FaultPoint.IMAGE, FaultKind.STALL)
    image = await rig.reader.capture(REQUEST)
    assert image.pixels.shape == (283, 375)
    assert rig.device.faults.fired == [(FaultPoint.IMAGE, FaultKind.STALL)]
    assert rig.device.halted == set()  # the driver cleared the halt
    await rig.reader.close()


async def test_endpoint_that_keeps_stalling_fails_after_the_retries() -> None:
    rig = await _opened(frame_retries=2)
    rig.device.faults.always(FaultPoint.IMAGE, FaultKind.STALL)
    with pytest.raises(DeviceStalled):
        await rig.reader.capture(REQUEST)
    assert len(rig.device.faults.fired) == 3
    assert rig.reader.state is DeviceState.READY
    rig.device.faults.clear()
    await rig.reader.capture(REQUEST)
    await rig.reader.close()


async def test_image_transfer_timeout_is_retried() -> None:
    rig = await _opened()
    rig.device.faults.arm(FaultPoint.IMAGE, FaultKind.TIMEOUT)
    await rig.reader.capture(REQUEST)
    rig.device.faults.always(FaultPoint.IMAGE, FaultKind.TIMEOUT)
    with pytest.raises(DeviceTimeout) as caught:
        await rig.reader.capture(REQUEST)
    assert caught.value.message_key == "device.timeout"
    assert rig.reader.state is DeviceState.READY
    await rig.reader.close()


async def test_no_finger_times_out_and_the_next_capture_works() -> None:
    rig = await _opened()
    rig.device.present(Presentation(no_finger=True))
    events: list[ReaderEvent] = []
    request = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.LEFT_INDEX, timeout_s=0.3)
    with pytest.raises(DeviceTimeout):
        await rig.reader.capture(request, events.append)
    assert [e.message_key for e in events] == ["finger.place", "device.timeout"]
    assert rig.reader.state is DeviceState.READY
    await rig.reader.capture(REQUEST)
    await rig.reader.close()


@pytest.mark.parametrize("kind", [FaultKind.SHORT, FaultKind.GARBAGE])
async def test_bad_frames_are_re_read(kind: FaultKind) -> None:
    rig = await _opened(frame_retries=3)
    rig.device.faults.arm(FaultPoint.IMAGE, kind, times=3)
    image = await rig.reader.capture(REQUEST)
    assert image.pixels.shape == (283, 375)
    assert rig.device.faults.fired == [(FaultPoint.IMAGE, kind)] * 3
    await rig.reader.close()


@pytest.mark.parametrize("kind", [FaultKind.SHORT, FaultKind.GARBAGE])
async def test_only_bad_frames_end_in_corrupt_data(kind: FaultKind) -> None:
    rig = await _opened(frame_retries=2)
    rig.device.faults.always(FaultPoint.IMAGE, kind)
    events: list[ReaderEvent] = []
    with pytest.raises(DeviceCorruptData) as caught:
        await rig.reader.capture(REQUEST, events.append)
    assert len(rig.device.faults.fired) == 3  # the first read and two re-reads
    assert caught.value.message_key == "device.corrupt_data"
    assert events[-1].message_key == "device.corrupt_data"
    assert rig.reader.state is DeviceState.READY
    await rig.reader.close()


async def test_access_denied_has_a_clear_operator_message() -> None:
    rig = emulated_rig()
    rig.device.faults.always(FaultPoint.OPEN, FaultKind.ACCESS)
    with pytest.raises(DeviceAccessDenied) as caught:
        await rig.reader.open()
    error = caught.value
    assert error.message_key == "device.access_denied"
    assert "05ba:000a" in error.detail and "udev" in error.detail
    assert rig.reader.state is DeviceState.ERROR
    rig.device.faults.clear()  # the technician installed the udev rule
    await rig.reader.open()
    assert rig.reader.state is DeviceState.READY
    await rig.reader.close()


async def test_access_denied_is_not_mistaken_for_a_missing_reader() -> None:
    rig = emulated_rig(serial="{5E1F0A4C-3B2D-4E6F-8A9B-0C1D2E3F4A5B}")
    rig.device.faults.always(FaultPoint.OPEN, FaultKind.ACCESS)  # serial cannot be read
    with pytest.raises(DeviceAccessDenied) as caught:
        await rig.reader.open()
    assert "udev" in caught.value.detail
    assert rig.reader.state is DeviceState.ERROR


async def test_interface_claimed_elsewhere_is_busy() -> None:
    rig = emulated_rig()
    rig.device.faults.always(FaultPoint.CLAIM, FaultKind.BUSY)
    with pytest.raises(DeviceBusy) as caught:
        await rig.reader.open()
    assert caught.value.message_key == "device.busy"
    assert "in use" in caught.value.detail
    assert rig.reader.state is DeviceState.ERROR


async def test_interrupt_of_death_is_survived() -> None:
    rig = await _opened()
    rig.device.faults.arm(FaultPoint.IRQ, FaultKind.DEATH)
    await rig.reader.capture(REQUEST)
    assert rig.device.faults.fired == [(FaultPoint.IRQ, FaultKind.DEATH)]
    await rig.reader.close()


async def test_cancel_while_waiting_for_the_finger() -> None:
    rig = await _opened()
    rig.device.present(Presentation(no_finger=True))
    capture = asyncio.create_task(rig.reader.capture(REQUEST))
    await _until(lambda: rig.reader.capture_state is CaptureState.AWAITING_FINGER)
    await rig.reader.cancel()
    with pytest.raises(CaptureCancelled):
        await capture
    assert rig.reader.state is DeviceState.READY
    await rig.reader.capture(REQUEST)
    await rig.reader.close()


async def test_power_up_fails_cleanly_when_the_scan_power_interrupt_never_comes() -> None:
    rig = emulated_rig(EmulatedUru4000())
    rig.device.faults.always(FaultPoint.IRQ, FaultKind.TIMEOUT)
    with pytest.raises(DeviceTimeout):
        await rig.reader.open()
    assert rig.reader.state is DeviceState.ERROR
    rig.device.faults.clear()
    await rig.reader.open()
    await rig.reader.close()
