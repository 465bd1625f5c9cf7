"""The daemon end to end: composition root, health, device list, device faults, shutdown."""

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

from appliance.accounts import Role
from appliance.app import Appliance
from appliance.config.model import ApplianceConfig
from central.dev_engines import free_port

ROOT = Path(__file__).resolve().parents[1]


def _config(tmp_path: Path, **devices: object) -> ApplianceConfig:
    return ApplianceConfig.model_validate(
        {
            "site": {"claim_id": "CLAIM-TEST-1", "municipality": "Lisboa"},
            "central": {"endpoint": "127.0.0.1:1"},
            "devices": {
                "face_camera": {"type": "sim", "fps": 60},
                "fingerprint_reader": {"type": "sim", "finger_delay_s": 0, "lift_delay_s": 0},
                **devices,
            },
            "storage": {"state_dir": str(tmp_path / "state")},
            "web": {"port": 0},
        }
    )


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = Appliance(_config(tmp_path))
    await app.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.web_port}", timeout=30) as c:
            await _login(app, c)
            yield c
    finally:
        await app.stop()


async def _login(app: Appliance, client: httpx.AsyncClient) -> None:
    """The API is behind a login: add an operator and log the client in (cookie + CSRF)."""
    assert app.services is not None
    app.services.accounts.create("op-test", Role.OPERATOR, "test password")
    response = await client.post(
        "/api/auth/login", json={"username": "op-test", "password": "test password"}
    )
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]


async def test_health_and_device_list(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    devices = (await client.get("/api/devices")).json()["devices"]
    assert {d["role"] for d in devices} == {"face_camera", "fingerprint_reader"}
    assert all(d["state"] == "ready" and d["simulated"] for d in devices)


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        ("get", "/api/no/such/route", 404, "http_error"),
        ("get", "/no/such/route", 404, "http_error"),
        ("delete", "/healthz", 405, "http_error"),
        ("get", "/api/workflow/captures/nope", 404, "capture_not_found"),
        ("post", "/api/workflow/face/capture", 404, "workflow.none"),
    ],
)
async def test_bad_requests_get_json_errors(
    client: httpx.AsyncClient, method: str, path: str, status: int, error: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    "body",
    [
        {"case_reference": "x"},
        {},
        {"case_reference": "AIMA-2026-000001", "extra": 1},
        {"case_reference": "AIMA 2026 000001"},
        "not json",
    ],
)
async def test_bad_bodies_are_refused_with_the_field(
    client: httpx.AsyncClient, body: object
) -> None:
    if isinstance(body, str):
        response = await client.post("/api/workflow", content=body)
    else:
        response = await client.post("/api/workflow", json=body)
    assert response.status_code == 422
    payload = response.json()
    assert payload["error"] == "invalid_request"
    assert "Traceback" not in response.text


async def test_unplugged_camera_is_reported_and_restarted(tmp_path: Path) -> None:
    app = Appliance(_config(tmp_path, face_camera={"type": "sim", "fps": 60}))
    await app.start()
    try:
        assert app.supervisor is not None
        camera = app.supervisor.camera()
        camera.faults.unplug()  # type: ignore[attr-defined]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.web_port}") as c:
            await _login(app, c)
            await c.post("/api/workflow", json={"case_reference": "AIMA-2026-000001"})
            await c.post("/api/workflow/consent", json={"accepted": True})
            response = await c.post("/api/workflow/face/capture")
            assert response.status_code == 503
            assert response.json()["error"] == "device.disconnected"
            camera.faults.replug()  # type: ignore[attr-defined]
            for _ in range(100):
                devices = (await c.get("/api/devices")).json()["devices"]
                face = next(d for d in devices if d["role"] == "face_camera")
                if face["state"] == "ready":
                    break
                await _sleep(0.05)
            assert face["state"] == "ready"
            assert face["failures"] >= 1
    finally:
        await app.stop()


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def test_run_command_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "appliance.yaml"
    config.write_text(
        (ROOT / "config" / "demo.yaml")
        .read_text()
        .replace("port: 8080", f"port: {port}")
        .replace("./var/demo", str(tmp_path / "state"))
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        # Generous: the start loads every model and starts the NFIQ 2 workers, and a
        # CI machine may be busy; it ends as soon as the daemon answers.
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert status == 200
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 0, stderr
        assert "Traceback" not in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "appliance.yaml"
        config.write_text(
            (ROOT / "config" / "demo.yaml")
            .read_text()
            .replace("port: 8080", f"port: {port}")
            .replace("./var/demo", str(tmp_path / "state"))
        )
        result = subprocess.run(
            [sys.executable, "-m", "appliance", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "cannot start" in result.stderr
    assert "Traceback" not in result.stderr


async def test_systemd_ready_and_watchdog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(tmp_path / "notify")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    app = Appliance(_config(tmp_path))
    await app.start()
    try:
        messages: list[bytes] = []
        for _ in range(100):
            try:
                messages.append(server.recv(512))
            except BlockingIOError:
                await _sleep(0.02)
            if any(m.startswith(b"READY=1") for m in messages) and b"WATCHDOG=1" in messages:
                break
        assert any(m.startswith(b"READY=1\nSTATUS=serving on") for m in messages)
        assert b"WATCHDOG=1" in messages
    finally:
        await app.stop()
        server.close()


async def test_metrics_endpoint(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert 'appliance_device_ready{role="face_camera"} 1.0' in text
    assert "appliance_outbox_depth 0.0" in text
