"""The web gate: default deny, login, CSRF, origin checks, roles, idle lock and lockout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from appliance.accounts import Role
from appliance.app import Appliance
from appliance.config.model import ApplianceConfig

pytestmark = pytest.mark.timeout(120)


def _config(tmp_path: Path, **ui: object) -> ApplianceConfig:
    return ApplianceConfig.model_validate(
        {
            "site": {"claim_id": "CLAIM-TEST-1", "municipality": "Lisboa"},
            "central": {"endpoint": "127.0.0.1:1"},
            "devices": {
                "face_camera": {"type": "sim", "fps": 30},
                "fingerprint_reader": {"type": "sim", "finger_delay_s": 0, "lift_delay_s": 0},
            },
            "storage": {"state_dir": str(tmp_path / "state")},
            "web": {"port": 0},
            "ui": {"max_failed_logins": 3, "lockout_s": 60, **ui},
        }
    )


class FakeClock:
    """Monotonic time the test moves by hand: no real waiting for the idle lock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Appliance]:
    appliance = Appliance(_config(tmp_path, idle_lock_s=2), clock=clock)
    await appliance.start()
    assert appliance.services is not None
    accounts = appliance.services.accounts
    await asyncio.to_thread(accounts.create, "ana", Role.OPERATOR, "ana password")
    await asyncio.to_thread(accounts.create, "tiago", Role.TECHNICIAN, "tiago password")
    await asyncio.to_thread(
        accounts.create, "sofia", Role.SUPERVISOR, "sofia password", pin="135790"
    )
    try:
        yield appliance
    finally:
        await appliance.stop()


def _client(app: Appliance) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.web_port}", timeout=30)


async def _login(client: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    response = await client.post("/api/auth/login", json={"username": user, "password": password})
    if response.status_code == 200:
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return response


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/devices"),
        ("get", "/api/outbox"),
        ("post", "/api/workflow"),
        ("get", "/api/workflow"),
        ("get", "/api/tech/status"),
        ("get", "/api/auth/me"),
        ("get", "/api/workflow/preview/face.mjpg"),
    ],
)
async def test_everything_but_public_routes_needs_a_login(
    app: Appliance, method: str, path: str
) -> None:
    async with _client(app) as client:
        response = await client.request(method, path)
    assert response.status_code == 401
    assert response.json()["error"] == "auth.required"


async def test_paths_no_route_declares_answer_nothing(app: Appliance) -> None:
    async with _client(app) as client:
        for path in ("/no/such/route", "/api/no/such/route", "/openapi.json", "/docs"):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.json()["error"] == "http_error"


async def test_public_routes_answer_without_login(app: Appliance) -> None:
    async with _client(app) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 200
        index = await client.get("/")
        assert index.status_code == 200
        assert "default-src 'self'" in index.headers["content-security-policy"]
        assert (await client.get("/static/app.js")).status_code == 200
        languages = (await client.get("/api/i18n/languages")).json()
        assert {"code": "ar", "name": "العربية", "dir": "rtl"} in languages["applicant"]


async def test_login_sets_a_strict_http_only_cookie(app: Appliance) -> None:
    async with _client(app) as client:
        response = await _login(client, "ana", "ana password")
        assert response.status_code == 200
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        body = response.json()
        assert body["role"] == "operator" and body["csrf_token"]
        assert "ana password" not in response.text
        assert (await client.get("/api/devices")).status_code == 200
        me = (await client.get("/api/auth/me")).json()
        assert me["username"] == "ana" and me["idle_lock_s"] == 2


async def test_state_changes_need_the_csrf_token_and_same_origin(app: Appliance) -> None:
    async with _client(app) as client:
        await _login(client, "ana", "ana password")
        token = client.headers.pop("X-CSRF-Token")
        refused = await client.post("/api/workflow/notice/ack")
        assert refused.status_code == 403 and refused.json()["error"] == "auth.csrf"
        wrong = await client.post("/api/workflow/notice/ack", headers={"X-CSRF-Token": "forged"})
        assert wrong.status_code == 403
        cross = await client.post(
            "/api/workflow/notice/ack",
            headers={"X-CSRF-Token": token, "Origin": "http://evil.example"},
        )
        assert cross.status_code == 403 and cross.json()["error"] == "auth.bad_origin"
        same = await client.post(
            "/api/workflow/notice/ack",
            headers={"X-CSRF-Token": token, "Origin": f"http://127.0.0.1:{app.web_port}"},
        )
        assert same.status_code == 200
        assert (await client.get("/api/devices")).status_code == 200  # reads need no token


async def test_cross_origin_login_is_refused(app: Appliance) -> None:
    async with _client(app) as client:
        response = await client.post(
            "/api/auth/login",
            json={"username": "ana", "password": "ana password"},
            headers={"Origin": "http://evil.example"},
        )
        assert response.status_code == 403
        form = await client.post(
            "/api/auth/login", data={"username": "ana", "password": "ana password"}
        )
        assert form.status_code == 422  # a cross-site HTML form cannot log anyone in


async def test_roles_gate_routes(app: Appliance) -> None:
    async with _client(app) as operator, _client(app) as technician:
        await _login(operator, "ana", "ana password")
        await _login(technician, "tiago", "tiago password")
        assert (await operator.get("/api/tech/status")).status_code == 403
        assert (await operator.get("/api/workflow")).status_code == 200
        assert (await technician.get("/api/workflow")).status_code == 403
        status = (await technician.get("/api/tech/status")).json()
        assert {d["role"] for d in status["devices"]} == {"face_camera", "fingerprint_reader"}
        assert status["outbox"]["depth"] == 0 and status["certificate"] is None
        assert status["disk"]["free_bytes"] > 0


async def test_idle_lock_and_unlock(app: Appliance, clock: FakeClock) -> None:
    async with _client(app) as client:
        await _login(client, "sofia", "sofia password")
        assert (await client.get("/api/devices")).status_code == 200
        # Background polls do not count as activity, so the screen still locks.
        for _ in range(3):
            clock.advance(0.8)
            await client.get("/api/devices", headers={"X-Passive": "1"})
        locked = await client.get("/api/devices")
        assert locked.status_code == 401 and locked.json()["error"] == "auth.locked"
        assert (await client.get("/api/auth/me")).json()["locked"] is True
        wrong = await client.post("/api/auth/unlock", json={"secret": "000000"})
        assert wrong.status_code == 401
        unlocked = await client.post("/api/auth/unlock", json={"secret": "135790"})  # PIN
        assert unlocked.status_code == 200 and unlocked.json()["locked"] is False
        assert (await client.get("/api/devices")).status_code == 200
        await client.post("/api/auth/lock")
        assert (await client.get("/api/devices")).status_code == 401
        await client.post("/api/auth/unlock", json={"secret": "sofia password"})
        assert (await client.get("/api/devices")).status_code == 200


async def test_lockout_after_failed_logins(app: Appliance) -> None:
    async with _client(app) as client:
        for _ in range(3):
            assert (await _login(client, "ana", "guess")).status_code == 401
        locked = await _login(client, "ana", "ana password")
        assert locked.status_code == 423
        assert locked.json()["error"] == "auth.locked_out"
        assert int(locked.headers["retry-after"]) > 0
        unknown = await _login(client, "nobody", "whatever1")
        assert unknown.status_code == 401 and unknown.json()["error"] == "auth.bad_credentials"
        # The technician sees which account is locked (only those offer "unlock").
        await _login(client, "tiago", "tiago password")
        rows = {
            a["username"]: a for a in (await client.get("/api/tech/accounts")).json()["accounts"]
        }
        assert rows["ana"]["locked"] is True and rows["tiago"]["locked"] is False
        unlock = await client.post("/api/tech/accounts/ana/unlock")
        assert unlock.status_code == 200, unlock.text
        rows = {
            a["username"]: a for a in (await client.get("/api/tech/accounts")).json()["accounts"]
        }
        assert rows["ana"]["locked"] is False


async def test_logout_ends_the_session(app: Appliance) -> None:
    async with _client(app) as client:
        await _login(client, "ana", "ana password")
        assert (await client.post("/api/auth/logout")).status_code == 200
        assert (await client.get("/api/devices")).status_code == 401


async def test_technician_creates_operator_accounts(app: Appliance) -> None:
    async with _client(app) as client:
        await _login(client, "tiago", "tiago password")
        created = await client.post(
            "/api/tech/accounts",
            json={"username": "rui", "role": "operator", "password": "rui password"},
        )
        assert created.status_code == 201, created.text
        no_tech = await client.post(
            "/api/tech/accounts",
            json={"username": "x2", "role": "technician", "password": "long enough"},
        )
        assert no_tech.status_code == 403
        names = [a["username"] for a in (await client.get("/api/tech/accounts")).json()["accounts"]]
        assert "rui" in names
        logs = (await client.get("/api/tech/logs")).json()["lines"]
        assert isinstance(logs, list)
