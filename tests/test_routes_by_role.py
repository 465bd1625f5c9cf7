"""Every route in the OpenAPI, called by every role: only the roles it declares get in.

A route that declares no rule cannot be built (``check_every_route_has_a_rule``);
here each one is called anonymously and as an operator, a supervisor and a
technician, with a valid session, CSRF token and same origin, so the only
thing that can refuse the call is the role rule.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from appliance.accounts import Role
from appliance.app import Appliance
from appliance.config.model import ApplianceConfig
from appliance.web.roles import route_rules

pytestmark = pytest.mark.timeout(300)

PASSWORDS = {
    Role.OPERATOR: ("op", "operator password"),
    Role.SUPERVISOR: ("sup", "supervisor password"),
    Role.TECHNICIAN: ("tech", "technician password"),
}
#: Values for path parameters (any value will do: only the rule is under test).
PARAMS = {
    "kind": "slap_right_four",
    "role": "face_camera",
    "target": "face",
    "capture_id": "0" * 32,
    "position": "4",
    "username": "nobody",
    "code": "en",
    "key": "face.instructions",
}
#: Routes that end the caller's session or screen: the client logs in again after them.
SESSION_CHANGING = {("POST", "/api/auth/logout"), ("POST", "/api/auth/lock")}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Appliance]:
    config = ApplianceConfig.model_validate(
        {
            "site": {"claim_id": "CLAIM-TEST-1", "municipality": "Lisboa"},
            "central": {"endpoint": "127.0.0.1:1"},
            "devices": {
                "face_camera": {"type": "sim", "fps": 30},
                "fingerprint_reader": {"type": "sim", "finger_delay_s": 0, "lift_delay_s": 0},
            },
            "storage": {"state_dir": str(tmp_path / "state")},
            "web": {"port": 0},
        }
    )
    appliance = Appliance(config)
    await appliance.start()
    assert appliance.services is not None
    for role, (name, password) in PASSWORDS.items():
        pin = "135790" if role is Role.SUPERVISOR else None
        await asyncio.to_thread(appliance.services.accounts.create, name, role, password, pin=pin)
    try:
        yield appliance
    finally:
        await appliance.stop()


async def _login(client: httpx.AsyncClient, role: Role) -> None:
    name, password = PASSWORDS[role]
    response = await client.post("/api/auth/login", json={"username": name, "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]


async def _call(client: httpx.AsyncClient, method: str, path: str) -> int:
    url = re.sub(r"\{(\w+)\}", lambda m: PARAMS[m.group(1)], path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    async with client.stream(method, url, json=body) as response:
        return response.status_code  # streams (previews) are not read: headers decide


async def test_every_route_declares_its_roles_and_the_gate_enforces_them(app: Appliance) -> None:
    assert app.web_app is not None
    rules = route_rules(app.web_app)
    assert len(rules) > 30
    base = f"http://127.0.0.1:{app.web_port}"
    headers = {"Origin": base}
    refused: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as anonymous:
        for (method, path), rule in sorted(rules.items()):
            status = await _call(anonymous, method, path)
            if not rule["public"] and status != 401:
                refused.append(f"anonymous {method} {path}: {status}")
    for role in PASSWORDS:
        async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as client:
            await _login(client, role)
            for (method, path), rule in sorted(rules.items()):
                if (method, path) == ("POST", "/api/auth/login"):
                    continue
                status = await _call(client, method, path)
                allowed = rule["public"] or role.value in rule["roles"]
                if allowed and status in (401, 403):
                    refused.append(f"{role.value} {method} {path}: refused ({status})")
                if not allowed and status != 403:
                    refused.append(f"{role.value} {method} {path}: let through ({status})")
                if (method, path) in SESSION_CHANGING:
                    await _login(client, role)
    assert refused == []


async def test_technicians_cannot_capture_or_submit(app: Appliance) -> None:
    assert app.web_app is not None
    rules = route_rules(app.web_app)
    capture_routes = [key for key in rules if key[1].startswith("/api/workflow")]
    assert len(capture_routes) > 15
    assert all("technician" not in rules[key]["roles"] for key in capture_routes)
    assert not any(path.startswith("/api/sessions") for _, path in rules)


def test_an_app_with_an_undeclared_route_is_not_built() -> None:
    from fastapi import FastAPI

    from appliance.web.roles import check_every_route_has_a_rule

    api = FastAPI()

    @api.get("/api/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="GET /api/forgotten"):
        check_every_route_has_a_rule(api)
