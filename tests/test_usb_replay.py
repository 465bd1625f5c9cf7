"""Record/replay: a recorded U.are.U session replays against the unchanged driver.

``tests/vectors/uru4000-session.jsonl`` was recorded from the emulator with
``python -m drivers.usb.emulator.session`` (power-up, a capture whose first
frame read stalls, close). A session recorded from a real reader the same way
replays here in CI without the hardware.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from pathlib import Path

import pytest

from drivers.errors import DeviceError
from drivers.interfaces import CaptureKind, CaptureRequest, FingerPosition
from drivers.usb.config import Uru4000Config
from drivers.usb.emulator import session
from drivers.usb.emulator.harness import emulated_rig
from drivers.usb.recording import FORMAT, RecordingBackend
from drivers.usb.replay import ReplayBackend
from drivers.usb.uru4000 import Uru4000Reader

pytestmark = pytest.mark.timeout(60)

VECTOR = Path(__file__).parent / "vectors" / "uru4000-session.jsonl"
REQUEST = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, timeout_s=5.0)


def _reader(backend: ReplayBackend, seed: int) -> Uru4000Reader:
    config = Uru4000Config.model_validate(backend.meta["config"])
    return Uru4000Reader(config, backend=backend, rng=random.Random(seed))


async def test_recorded_session_replays_to_the_same_image() -> None:
    backend = ReplayBackend.from_file(VECTOR)
    reader = _reader(backend, backend.meta["rng_seed"])
    await reader.open()
    image = await reader.capture(REQUEST)
    await reader.close()
    assert list(image.pixels.shape) == backend.meta["shape"]
    assert hashlib.sha256(image.pixels.tobytes()).hexdigest() == backend.meta["pixels_sha256"]
    assert backend.mismatches == []
    assert backend.remaining() == []


async def test_replay_detects_a_change_in_driver_behaviour() -> None:
    backend = ReplayBackend.from_file(VECTOR)
    reader = _reader(backend, backend.meta["rng_seed"] + 1)  # another scramble seed
    await reader.open()  # power-up does not depend on the seed
    with pytest.raises(DeviceError, match="replay: record"):
        await reader.capture(REQUEST)
    await reader.close()
    assert "data: recorded" in backend.mismatches[0]
    assert "wValue: recorded 51" not in backend.mismatches[0]  # same register (0x33)


def _shape(path: Path) -> list[tuple[object, ...]]:
    """The operations of a recording, without data and timing-dependent interrupt polls."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    return [
        (r["op"], r.get("wValue"), r.get("ep"), r.get("length"), r.get("error"))
        for r in records
        if not r.get("timeout")
    ]


def test_the_recorder_still_produces_the_vector_s_session(tmp_path: Path) -> None:
    fresh = tmp_path / "session.jsonl"
    meta = session.record(fresh)
    stored = ReplayBackend.from_file(VECTOR).meta
    assert {k: v for k, v in meta.items() if k != "pixels_sha256"} == {
        k: v for k, v in stored.items() if k != "pixels_sha256"
    }
    assert _shape(fresh) == _shape(VECTOR)


def test_recording_format_header_and_records() -> None:
    lines = VECTOR.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["format"] == FORMAT
    assert "synthetic" in header["meta"]["source"]
    ops = {json.loads(line)["op"] for line in lines[1:]}
    assert {"enumerate", "open", "claim", "ctrl", "read", "clear_halt", "close"} <= ops
    stall = next(json.loads(line) for line in lines if '"error":-9' in line)
    assert stall["op"] == "read" and stall["ep"] == 0x82 and stall["errno"] == 32


async def test_recorder_logs_errors_and_disconnects() -> None:
    sink = io.StringIO()
    rig = emulated_rig(backend=lambda inner: RecordingBackend(inner, sink))
    await rig.reader.open()
    rig.unplug()
    with pytest.raises(DeviceError):
        await rig.reader.capture(REQUEST)
    records = [json.loads(line) for line in sink.getvalue().splitlines()[1:]]
    assert any(r.get("error") == -4 and r.get("errno") == 19 for r in records)
