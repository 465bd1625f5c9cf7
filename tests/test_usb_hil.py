"""The U.are.U driver tests against a real attached reader (run with ``pytest --hil``).

The rig needs one supported reader on the bus (05ba:000a for the 4000B/4500)
and a finger (or a fake finger on an actuator) when a capture asks for it; the
prompt goes to stderr. These tests also record the real session and replay it
against the unchanged driver, which is how a real device's session becomes a
CI test vector (commit it only if the finger was synthetic, e.g. a printed
fake: never a real person's print).
"""

from __future__ import annotations

import hashlib
import random
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.errors import DeviceTimeout
from drivers.interfaces import (
    CaptureKind,
    CaptureRequest,
    CaptureState,
    DeviceState,
    FingerPosition,
    ReaderEvent,
)
from drivers.usb import uru4000_protocol as proto
from drivers.usb.config import Uru4000Config
from drivers.usb.recording import RecordingBackend
from drivers.usb.replay import ReplayBackend
from drivers.usb.transport import list_usb_devices
from drivers.usb.uru4000 import Uru4000Reader

pytestmark = [pytest.mark.hil, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[1]
FINGER = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, timeout_s=30.0)


def _attached() -> tuple[int, int]:
    for device in list_usb_devices(None):
        ids = (int(device.idVendor), int(device.idProduct))
        if proto.is_supported(*ids):
            return ids
    wanted = ", ".join(f"{v:04x}:{p:04x}" for v, p in proto.MODELS)
    pytest.fail(f"no supported U.are.U reader is attached (looked for {wanted})")


def _reader(**kwargs: object) -> Uru4000Reader:
    vid, pid = _attached()
    config = Uru4000Config(type="uru4000", device_id="hil-real", vid=vid, pid=pid)
    return Uru4000Reader(config, **kwargs)  # type: ignore[arg-type]


def _prompt(text: str) -> None:
    print(f"\n[hil] {text}", file=sys.stderr, flush=True)


async def test_open_reads_the_device_identity() -> None:
    reader = _reader()
    await reader.open()
    try:
        info = reader.info
        assert reader.state is DeviceState.READY
        assert info.firmware and info.model in {m.name for m in proto.MODELS.values()}
        assert reader.bus_address[0] is not None
    finally:
        await reader.close()


async def test_capture_with_a_finger_walks_the_state_machine() -> None:
    reader = _reader()
    events: list[ReaderEvent] = []
    await reader.open()
    try:
        _prompt("place a finger on the reader, lift it when the light goes off")
        image = await reader.capture(FINGER, events.append)
    finally:
        await reader.close()
    assert image.pixels.shape == (283, 375) and image.ppi == 500
    assert [e.state for e in events] == [
        CaptureState.AWAITING_FINGER,
        CaptureState.CAPTURING,
        CaptureState.AWAITING_LIFT,
        CaptureState.IDLE,
    ]
    assert float(image.pixels.std()) > 10  # not a blank frame


async def test_no_finger_times_out_and_the_reader_stays_ready() -> None:
    reader = _reader()
    await reader.open()
    try:
        _prompt("do NOT touch the reader for 2 seconds")
        request = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, timeout_s=1.0)
        with pytest.raises(DeviceTimeout):
            await reader.capture(request)
        assert reader.state is DeviceState.READY
    finally:
        await reader.close()


async def test_reopen_after_close() -> None:
    reader = _reader()
    await reader.open()
    await reader.close()
    await reader.open()  # a second session on the same device
    assert reader.state is DeviceState.READY
    await reader.close()


async def test_a_recorded_real_session_replays(tmp_path: Path) -> None:
    import usb.backend.libusb1

    libusb = usb.backend.libusb1.get_backend()
    assert libusb is not None, "libusb-1.0 is not installed"
    path = tmp_path / "real-session.jsonl"
    recorder = RecordingBackend.to_file(libusb, path, meta={"rng_seed": 11})
    reader = _reader(backend=recorder, rng=random.Random(11))
    await reader.open()
    try:
        _prompt("place a finger for the recorded session")
        live = await reader.capture(FINGER)
    finally:
        await reader.close()
        recorder.close()
    replay = ReplayBackend.from_file(path)
    again = _reader(backend=replay, rng=random.Random(11))
    await again.open()
    image = await again.capture(FINGER)
    await again.close()
    assert (
        hashlib.sha256(image.pixels.tobytes()).digest()
        == hashlib.sha256(live.pixels.tobytes()).digest()
    )
    assert replay.mismatches == [] and replay.remaining() == []


def test_conformance_suite_on_the_real_reader() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "appliance", "hil", "--json", "--target", "uru4000"],
        capture_output=True,
        text=True,
        timeout=170,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
