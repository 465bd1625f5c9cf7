"""The daemon end to end: composition root, health, device list, capture API, shutdown."""

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
    assert app.ui is not None
    app.ui.auth.accounts.create("op-test", Role.OPERATOR, "test password")
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


async def test_capture_session_returns_captures(client: httpx.AsyncClient) -> None:
    session = (await client.post("/api/sessions")).json()["session_id"]
    face = await client.post(f"/api/sessions/{session}/face")
    assert face.status_code == 201, face.text
    # The ISO/IEC 19794-5 token image (JPEG 2000 where OpenCV has it) with the ICAO figures.
    assert face.json()["media_type"] in {"image/jp2", "image/jpeg"}
    assert face.json()["format"] == "ISO/IEC 19794-5 token frontal"
    assert face.json()["icao_compliant"] in (0, 1)
    assert "icao.inter_eye_distance" in face.json()
    slap = await client.post(
        f"/api/sessions/{session}/fingerprints", json={"kind": "slap_right_four"}
    )
    assert slap.status_code == 201, slap.text
    assert slap.json()["position"] == 13
    image = await client.get(f"/api/sessions/{session}/captures/{slap.json()['capture_id']}")
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG")
    listing = (await client.get(f"/api/sessions/{session}")).json()
    assert len(listing["captures"]) == 2
    assert (await client.delete(f"/api/sessions/{session}")).json()["discarded"] is True
    assert (await client.get(f"/api/sessions/{session}")).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("get", "/api/sessions/nope", None, 404, "session_not_found"),
        ("post", "/api/sessions/nope/face", None, 404, "session_not_found"),
        ("get", "/no/such/route", None, 404, "http_error"),
        ("delete", "/healthz", None, 405, "http_error"),
    ],
)
async def test_bad_requests_get_json_errors(
    client: httpx.AsyncClient, method: str, path: str, body: object, status: int, error: str
) -> None:
    response = await client.request(method, path, json=body)
    assert response.status_code == status
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "bogus"},
        {},
        {"kind": "flat_single"},
        {"kind": "slap_thumbs", "timeout_s": -1},
        {"kind": "slap_thumbs", "extra": 1},
        "not json",
    ],
)
async def test_bad_capture_bodies(client: httpx.AsyncClient, body: object) -> None:
    session = (await client.post("/api/sessions")).json()["session_id"]
    if isinstance(body, str):
        response = await client.post(f"/api/sessions/{session}/fingerprints", content=body)
    else:
        response = await client.post(f"/api/sessions/{session}/fingerprints", json=body)
    assert response.status_code == 422
    payload = response.json()
    assert payload["error"] in {"invalid_request", "position_required"}
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
            session = (await c.post("/api/sessions")).json()["session_id"]
            response = await c.post(f"/api/sessions/{session}/face")
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_command_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
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
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert status == 200
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
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
    session = (await client.post("/api/sessions")).json()["session_id"]
    await client.post(f"/api/sessions/{session}/face")
    response = await client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert 'appliance_captures_total{type="face"} 1.0' in text
    assert 'appliance_device_ready{role="face_camera"} 1.0' in text
    assert "appliance_outbox_depth 0.0" in text


@pytest.mark.timeout(240)
async def test_tenprint_endpoint_adds_records_to_the_session(client: httpx.AsyncClient) -> None:
    session = (await client.post("/api/sessions")).json()["session_id"]
    refused = await client.post(
        f"/api/sessions/{session}/tenprint",
        json={
            "missing": [
                {"position": 4, "reason": "XX", "declared_by": "op-1", "confirmed_by": "op-1"}
            ]
        },
    )
    assert refused.status_code == 409
    response = await client.post(f"/api/sessions/{session}/tenprint", json={}, timeout=200)
    assert response.status_code == 201, response.text
    summary = response.json()
    assert summary["ok"] is True
    assert [len(s["fingers"]) for s in summary["slaps"]] == [4, 4, 2]
    captures = (await client.get(f"/api/sessions/{session}")).json()["captures"]
    names = {c["name"] for c in captures}
    assert {"tenprint.an2", "fingers.iso19794-4", "slap-13.wsq", "finger-02.wsq"} <= names
    bad = await client.post(
        f"/api/sessions/{session}/tenprint", json={"missing": [{"position": 11, "reason": "ZZ"}]}
    )
    assert bad.status_code == 422
