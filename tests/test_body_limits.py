"""Request bodies over their route's budget cost the kiosk almost nothing and get 413."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from appliance.web.limits import BodyLimit, budget_for
from central.dev_engines import free_port

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(300)


async def _echo(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    body = b""
    while True:
        message = await receive()  # type: ignore[operator]
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": str(len(body)).encode()})  # type: ignore[operator]


async def test_budgets_by_route_and_chunked_bodies() -> None:
    assert budget_for("/api/auth/login") == 4096
    assert budget_for("/api/workflow/fingers/missing") == 16384
    transport = httpx.ASGITransport(app=BodyLimit(_echo))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://kiosk") as client:
        ok = await client.post("/api/workflow", content=b"x" * 16384)
        assert ok.status_code == 200 and ok.text == "16384"
        declared = await client.post("/api/auth/login", content=b"x" * 5000)
        assert declared.status_code == 413 and declared.json()["error"] == "request.too_large"

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"y" * 1024

        chunked = await client.post("/api/auth/login", content=chunks())
        assert chunked.status_code == 413


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _send_huge(port: int, gigabytes: float, declared: bool) -> bytes:
    """POST a huge body to the login route on a raw socket; returns what came back."""
    total = int(gigabytes * (1 << 30))
    head = (
        "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + (f"Content-Length: {total}\r\n" if declared else "Transfer-Encoding: chunked\r\n")
        + "\r\n"
    ).encode()
    block = b"A" * (1 << 20)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head)
        try:
            while sent < total:
                piece = block if declared else b"%x\r\n" % len(block) + block + b"\r\n"
                conn.sendall(piece)
                sent += len(block)
        except OSError:  # the kiosk answered and closed: nothing more is read
            pass
        conn.settimeout(10)
        try:
            return conn.recv(4096)
        except OSError:
            return b""


@pytest.mark.slow
def test_a_gigabyte_post_to_login_costs_the_daemon_almost_nothing(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "kiosk.yaml"
    config.write_text(
        f"""
site: {{claim_id: CLAIM-TEST-1, municipality: Lisboa}}
central: {{endpoint: "127.0.0.1:1"}}
devices:
  face_camera: {{type: sim, fps: 15}}
  fingerprint_reader: {{type: sim, finger_delay_s: 0, lift_delay_s: 0}}
storage: {{state_dir: {tmp_path / "state"}}}
web: {{port: {port}}}
"""
    )
    daemon = subprocess.Popen(
        [sys.executable, "-m", "appliance", "run", "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the daemon did not start"
            time.sleep(0.5)
        before = _rss_kb(daemon.pid)
        for declared in (True, False):
            answer = _send_huge(port, 1.0, declared)
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        after = _rss_kb(daemon.pid)
        assert after - before < 32 * 1024, (before, after)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(60)
