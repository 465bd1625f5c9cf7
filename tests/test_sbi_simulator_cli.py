"""``python -m drivers.sbi.simulator`` runs as a process the appliance can be pointed at."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from central.dev_engines import free_port
from drivers.interfaces import CaptureKind, CaptureRequest, FingerPosition
from drivers.sbi.config import SbiReaderConfig
from drivers.sbi.reader import SbiFingerprintReader

pytestmark = pytest.mark.timeout(90)

ROOT = Path(__file__).resolve().parents[1]


async def _wait_for_port(port: int, process: asyncio.subprocess.Process) -> None:
    for _ in range(300):
        assert process.returncode is None, "the simulator exited"
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        return
    pytest.fail("the simulator did not start listening")


async def test_simulator_process_serves_signed_captures_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    port = free_port()
    pki_dir = tmp_path / "pki"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "drivers.sbi.simulator",
        "--port",
        str(port),
        "--pki-dir",
        str(pki_dir),
        "--spec-version",
        "1.0",
        "--key-type",
        "ec",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await _wait_for_port(port, process)
        anchor = pki_dir / "ca.pem"
        assert anchor.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
        assert (pki_dir / "ca-key.pem").stat().st_mode & 0o077 == 0
        config = SbiReaderConfig(type="sbi", port=port, trust_anchors=[anchor])
        reader = SbiFingerprintReader(config)
        await reader.open()
        request = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.LEFT_INDEX, timeout_s=10)
        assert (await reader.capture(request)).pixels.shape == (500, 400)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0, output.decode(errors="replace")
    assert b"trust anchor" in output
