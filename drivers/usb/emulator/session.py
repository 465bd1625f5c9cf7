"""Record a reference U.are.U session from the emulator (the replay test vector).

``python -m drivers.usb.emulator.session tests/vectors/uru4000-session.jsonl``
runs the real driver against the emulated 4500 through a
:class:`drivers.usb.recording.RecordingBackend`: open (power-up), one capture
whose first frame read stalls (clear halt, re-read, key exchange, decryption),
close. The header records the scramble seed the driver must reuse on replay
and the SHA-256 of the decoded image. A session from a real reader is
recorded the same way, with ``inner=None`` replaced by the libusb backend.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import random
import sys
from pathlib import Path
from typing import Any

from drivers.interfaces import CaptureKind, CaptureRequest, FingerPosition
from drivers.usb.config import Uru4000Config
from drivers.usb.emulator.backend import EmulatedUsbBackend
from drivers.usb.emulator.faults import FaultKind, FaultPoint
from drivers.usb.emulator.uru4000_device import EmulatedUru4000
from drivers.usb.recording import RecordingBackend
from drivers.usb.uru4000 import Uru4000Reader

RNG_SEED = 7
SESSION_CONFIG: dict[str, Any] = {"type": "uru4000", "output_ppi": 512, "lift_timeout_s": 2.0}


async def _run(backend: Any) -> str:
    reader = Uru4000Reader(
        Uru4000Config.model_validate(SESSION_CONFIG),
        backend=backend,
        rng=random.Random(RNG_SEED),
    )
    await reader.open()
    try:
        image = await reader.capture(
            CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, timeout_s=5.0)
        )
    finally:
        await reader.close()
    return hashlib.sha256(image.pixels.tobytes()).hexdigest()


def record(path: Path) -> dict[str, Any]:
    """Record the reference session to ``path``; return its header's ``meta``."""
    device = EmulatedUru4000(finger_delay_s=0.25)  # a few interrupt polls time out
    device.faults.arm(FaultPoint.IMAGE, FaultKind.STALL)
    sink = io.StringIO()
    recorder = RecordingBackend(EmulatedUsbBackend(device), sink)
    digest = asyncio.run(_run(recorder))
    meta = {
        "source": "drivers.usb.emulator (synthetic fingerprint, no real person)",
        "device": "05ba:000a DigitalPersona U.are.U 4500 (emulated)",
        "rng_seed": RNG_SEED,
        "config": SESSION_CONFIG,
        "pixels_sha256": digest,
        "shape": [290, 384],
    }
    lines = sink.getvalue().splitlines()
    header = json.loads(lines[0])
    header["meta"] = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n", encoding="utf-8")
    return meta


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m drivers.usb.emulator.session OUT.jsonl", file=sys.stderr)
        return 2
    meta = record(Path(args[0]))
    print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
