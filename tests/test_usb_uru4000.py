"""The real U.are.U driver against the emulated reader, through pyusb's own Device code.

``usb.core.find(backend=EmulatedUsbBackend(...))`` enumerates the emulated
4000B/4500 and every transfer the driver makes goes through pyusb into the
emulator, which answers at register level and sends encrypted frames built
from synthetic prints.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading

import numpy as np
import pytest
import usb.core

from drivers.interfaces import (
    CaptureKind,
    CaptureRequest,
    CaptureState,
    DeviceState,
    FingerPosition,
    ReaderEvent,
)
from drivers.registry import create_reader
from drivers.usb import uru4000_protocol as proto
from drivers.usb.config import Uru4000Config
from drivers.usb.emulator import EmulatedUru4000, EmulatedUsbBackend
from drivers.usb.emulator.harness import emulated_rig
from drivers.usb.recording import RecordingBackend

pytestmark = pytest.mark.timeout(60)

REQUEST = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, timeout_s=5.0)


def _wire(sink: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in sink.getvalue().splitlines()[1:]]


def _vendor(records: list[dict[str, object]]) -> list[tuple[object, ...]]:
    """Vendor control transfers and interrupt reads, as (type, request, value, index, data)."""
    out: list[tuple[object, ...]] = []
    for r in records:
        if r["op"] == "ctrl" and int(r["bmRequestType"]) & 0x60 == 0x40:  # type: ignore[call-overload]
            out.append((r["bmRequestType"], r["bRequest"], r["wValue"], r["wIndex"], r["data"]))
        elif r["op"] == "read" and r["ep"] == proto.EP_INTR and "data" in r:
            out.append(("irq", r["data"]))
    return out


def test_pyusb_enumerates_the_emulated_reader() -> None:
    device = EmulatedUru4000()
    backend = EmulatedUsbBackend(device)
    found = usb.core.find(idVendor=0x05BA, idProduct=0x000A, backend=backend)
    assert found is not None
    assert (found.bus, found.address) == backend.address_of(device)
    assert found.serial_number == device.serial
    assert found.manufacturer == "DigitalPersona, Inc."
    intf = found.get_active_configuration()[(0, 0)]
    assert (intf.bInterfaceClass, intf.bInterfaceSubClass, intf.bInterfaceProtocol) == (255,) * 3
    kinds = {ep.bEndpointAddress: usb.util.endpoint_type(ep.bmAttributes) for ep in intf}
    assert kinds == {0x81: usb.util.ENDPOINT_TYPE_INTR, 0x82: usb.util.ENDPOINT_TYPE_BULK}


async def test_full_capture_yields_a_500ppi_image_and_walks_the_state_machine() -> None:
    rig = emulated_rig()
    events: list[ReaderEvent] = []
    await rig.reader.open()
    assert rig.reader.state is DeviceState.READY
    assert rig.reader.info.serial == rig.device.serial
    assert rig.reader.info.firmware == "0114"
    image = await rig.reader.capture(REQUEST, events.append)
    await rig.reader.close()
    assert image.pixels.shape == (283, 375)  # 290 x 384 at 512 ppi, resampled to 500 ppi
    assert image.pixels.dtype == np.uint8 and image.ppi == 500
    assert image.position is FingerPosition.RIGHT_INDEX
    assert [e.state for e in events] == [
        CaptureState.AWAITING_FINGER,
        CaptureState.CAPTURING,
        CaptureState.AWAITING_LIFT,
        CaptureState.IDLE,
    ]
    assert [e.message_key for e in events] == [
        "finger.place",
        "finger.hold_still",
        "finger.lift",
        "finger.idle",
    ]
    assert rig.reader.state is DeviceState.CLOSED
    assert rig.device.mode == proto.MODE_OFF


@pytest.mark.parametrize(
    ("pid", "encrypted"), [(0x000A, True), (0x0007, False)], ids=["4500-encrypted", "4000-plain"]
)
async def test_decoded_image_is_what_the_sensor_saw(pid: int, encrypted: bool) -> None:
    rig = emulated_rig(EmulatedUru4000(pid=pid), output_ppi=512)
    await rig.reader.open()
    image = await rig.reader.capture(REQUEST)
    await rig.reader.close()
    sent = rig.device.last_frame
    assert sent is not None and sent.encrypted is encrypted
    assert image.pixels.shape == (290, 384)
    same = float((image.pixels == sent.host_view).mean())
    # Only the "not present" line (repeated from its neighbour) and the last byte of
    # each encrypted block (lost by the cipher) may differ.
    assert same > 0.99
    assert float(np.abs(image.pixels.astype(int) - sent.host_view).mean()) < 1.0


async def test_exact_bytes_on_the_wire_for_power_up() -> None:
    sink = io.StringIO()
    rig = emulated_rig(backend=lambda inner: RecordingBackend(inner, sink))
    await rig.reader.open()
    await rig.reader.close()
    assert _vendor(_wire(sink)) == [
        (0xC0, 0x04, 0x0007, 0, "80"),  # read HWSTAT: low power
        (0x40, 0x04, 0x0007, 0, "00"),  # write the low bits: power up
        (0xC0, 0x04, 0x0007, 0, "00"),  # bit 7 now clear
        ("irq", "56aa" + "00" * 62),  # scan power on
        (0xC0, 0x04, 0x00F0, 0, "01000000011400000000000300000000"),  # device info
        (0x40, 0x04, 0x004E, 0, "70"),  # close: MODE off
    ]
    ops = [r["op"] for r in _wire(sink) if r["op"] not in ("ctrl", "read")]
    assert ops == [
        "enumerate",
        "open",
        "kernel_driver_active",
        "get_configuration",
        "claim",
        "release",
        "close",
    ]


@pytest.mark.parametrize(
    ("hwstat", "expected"),
    [
        (0x00, [("r", "00"), ("w", "80"), ("w", "00"), ("r", "00")]),  # powered: down, then up
        (0x85, [("r", "85"), ("w", "05"), ("r", "05"), ("w", "85"), ("w", "05"), ("r", "05")]),
    ],
    ids=["powered", "confused-needs-reboot"],
)
async def test_power_up_sequence_from_other_states(
    hwstat: int, expected: list[tuple[str, str]]
) -> None:
    sink = io.StringIO()
    rig = emulated_rig(
        EmulatedUru4000(initial_hwstat=hwstat),
        backend=lambda inner: RecordingBackend(inner, sink),
    )
    await rig.reader.open()
    hw = [
        ("r" if r[0] == 0xC0 else "w", r[4])
        for r in _vendor(_wire(sink))
        if r[0] != "irq" and r[2] == proto.REG_HWSTAT
    ]
    assert hw == expected
    assert rig.reader.state is DeviceState.READY
    await rig.reader.close()


async def test_challenge_response_powers_up_the_microsoft_v2_reader() -> None:
    sink = io.StringIO()
    device = EmulatedUru4000(vid=0x045E, pid=0x00CA)
    rig = emulated_rig(device, backend=lambda inner: RecordingBackend(inner, sink))
    await rig.reader.open()
    image = await rig.reader.capture(REQUEST)
    await rig.reader.close()
    assert device.authenticated  # the host answered the device's challenge
    assert image.pixels.shape == (283, 375)
    regs = [(r[0], r[2]) for r in _vendor(_wire(sink)) if r[0] != "irq"]
    first_response = regs.index((0x40, proto.REG_RESPONSE))
    assert regs[first_response - 1] == (0xC0, proto.REG_CHALLENGE)
    assert rig.reader.info.vendor == "Microsoft"


def test_emulator_stays_in_low_power_without_a_valid_response() -> None:
    device = EmulatedUru4000(vid=0x045E, pid=0x00CA)
    device.control_in(proto.USB_RQ, proto.REG_CHALLENGE, 16)
    device.control_out(proto.USB_RQ, proto.REG_RESPONSE, bytes(16))
    device.control_out(proto.USB_RQ, proto.REG_HWSTAT, b"\x00")
    assert device.low_power
    challenge = device.control_in(proto.USB_RQ, proto.REG_CHALLENGE, 16)
    device.control_out(proto.USB_RQ, proto.REG_RESPONSE, proto.challenge_response(challenge))
    device.control_out(proto.USB_RQ, proto.REG_HWSTAT, b"\x00")
    assert not device.low_power


async def test_transfers_run_off_the_event_loop() -> None:
    rig = emulated_rig(transfer_timeout_ms=10000)
    await rig.reader.open()
    gate = rig.device.faults.hold_images()
    capture = asyncio.create_task(rig.reader.capture(REQUEST))
    for _ in range(1000):  # the loop keeps running while the image transfer is blocked
        if rig.device.faults.image_waiting.is_set():
            break
        await asyncio.sleep(0.01)
    assert rig.device.faults.image_waiting.is_set(), "the image transfer never started"
    assert not capture.done()
    assert rig.reader.capture_state is CaptureState.CAPTURING
    gate.set()
    image = await capture
    await rig.reader.close()
    assert image.pixels.size > 0
    # Enumeration runs in asyncio's default executor, every device transfer on the
    # reader's own worker thread; none on the loop's thread.
    assert threading.current_thread().name not in rig.backend.transfer_threads
    assert "usb-uru4000-0_0" in rig.backend.transfer_threads


async def test_config_can_select_the_emulated_reader() -> None:
    config = Uru4000Config(type="uru4000", emulated=True, irq_poll_ms=20)
    reader = create_reader(config)
    await reader.open()
    assert reader.info.simulated and reader.info.model == "DigitalPersona U.are.U 4000B/4500"
    image = await reader.capture(REQUEST)
    await reader.close()
    assert image.pixels.shape == (283, 375)


async def test_two_captures_are_different_impressions_of_the_same_finger() -> None:
    rig = emulated_rig(output_ppi=512)
    await rig.reader.open()
    first = await rig.reader.capture(REQUEST)
    second = await rig.reader.capture(REQUEST)
    await rig.reader.close()
    assert not np.array_equal(first.pixels, second.pixels)
    assert rig.device.last_frame is not None
    assert rig.device.last_frame.key_number == 2  # each frame uses fresh scramble keys
