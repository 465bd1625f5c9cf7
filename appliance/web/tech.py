"""Technician pages' API (role ``technician`` only, enforced by the gate's role rules).

Status (devices, outbox depth, last successful upload, certificate expiry,
disk quota), the redacted log view, the device self-test, device reset and
operator account administration.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from appliance import __version__
from appliance.accounts import AccountError, AccountStore, Role
from appliance.devices import DeviceRole, DeviceSupervisor, DeviceUnavailable
from appliance.outbox import Outbox
from appliance.web.errors import ApiError
from appliance.web.logview import RingBufferHandler
from drivers.errors import DeviceError
from drivers.interfaces import Camera, CaptureState, DeviceState, FingerprintReader

logger = logging.getLogger(__name__)

SELF_TEST_FRAMES = 10


@dataclass(frozen=True)
class TechSources:
    """Where the status page reads from (all optional but the supervisor)."""

    supervisor: DeviceSupervisor
    accounts: AccountStore
    outbox: Outbox | None
    state_dir: Path
    certificate_expiry: Callable[[], datetime | None]
    logs: RingBufferHandler
    site_id: str
    kiosk_name: str


class NewAccountBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=32, description="Account name.")
    role: Role = Field(description="operator or supervisor (technicians use the CLI).")
    password: str = Field(min_length=8, max_length=256, description="Initial password.")
    pin: str | None = Field(
        default=None, description="PIN (6-12 digits), required for supervisors."
    )
    display_name: str | None = Field(default=None, max_length=64, description="Name shown.")


def last_upload_at(outbox: Outbox) -> float | None:
    """When central last acknowledged a packet (read-only look at the outbox database)."""
    path = outbox.root / "outbox.sqlite"
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute(
                "SELECT MAX(updated_at) FROM packets WHERE state IN ('committed', 'purged')"
            ).fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return float(row[0]) if row and row[0] is not None else None


def status(sources: TechSources) -> dict[str, Any]:
    devices = [
        {
            "role": s.role.value,
            "model": f"{s.info.vendor} {s.info.model}",
            "device_id": s.info.device_id,
            "driver": s.info.driver,
            "simulated": s.info.simulated,
            "state": s.state.value,
            "message_key": s.message_key,
            "failures": s.failures,
            "restarts_in_window": s.restarts_in_window,
        }
        for s in sources.supervisor.statuses()
    ]
    outbox: dict[str, Any] | None = None
    if sources.outbox is not None:
        st = sources.outbox.status()
        outbox = {
            "depth": st.depth,
            "bytes": st.bytes,
            "oldest_age_s": round(st.oldest_age_s, 1),
            "quarantined": st.quarantined,
            "committed_total": st.committed_total,
            "quota_bytes": st.quota_bytes,
            "used_percent": round(100 * st.bytes / st.quota_bytes, 1) if st.quota_bytes else 0,
            "warn": st.warn,
            "full": st.full,
            "last_upload_at": last_upload_at(sources.outbox),
        }
    expiry = sources.certificate_expiry()
    disk = shutil.disk_usage(sources.state_dir)
    return {
        "version": __version__,
        "site_id": sources.site_id,
        "kiosk": sources.kiosk_name,
        "time": time.time(),
        "devices": devices,
        "outbox": outbox,
        "certificate": None
        if expiry is None
        else {
            "not_after": expiry.isoformat(),
            "days_left": int((expiry.timestamp() - time.time()) // 86400),
        },
        "disk": {"total_bytes": disk.total, "free_bytes": disk.free},
    }


async def _test_camera(camera: Camera) -> tuple[bool, str, dict[str, Any]]:
    started = time.monotonic()
    frames = []
    for _ in range(SELF_TEST_FRAMES):
        frames.append(await camera.read_frame())
    elapsed = max(1e-6, time.monotonic() - started)
    image = frames[-1].image
    brightness = float(image.mean())
    ok = image.ndim == 3 and image.shape[2] == 3 and 10 < brightness < 245
    return (
        ok,
        "selftest.ok" if ok else "selftest.camera_image",
        {
            "fps": round(SELF_TEST_FRAMES / elapsed, 1),
            "resolution": f"{image.shape[1]}x{image.shape[0]}",
            "brightness": round(brightness, 1),
        },
    )


async def _test_reader(reader: FingerprintReader) -> tuple[bool, str, dict[str, Any]]:
    self_test = getattr(reader, "self_test", None)
    if callable(self_test):
        result = await self_test()
        return bool(result), "selftest.ok" if result else "selftest.reader_failed", {}
    ok = reader.state is DeviceState.READY and reader.capture_state is CaptureState.IDLE
    return (
        ok,
        "selftest.ok" if ok else "selftest.reader_not_idle",
        {"capture_state": reader.capture_state.value, "kinds": len(reader.supported_kinds)},
    )


async def run_self_test(supervisor: DeviceSupervisor) -> list[dict[str, Any]]:
    """Exercise each device briefly; a device given up on is reset first."""
    results = []
    for row in supervisor.statuses():
        if row.state is DeviceState.ERROR:
            supervisor.reset(row.role)
            await asyncio.sleep(1.2)  # one supervision tick to reopen it
        started = time.monotonic()
        detail: dict[str, Any] = {}
        try:
            if row.role is DeviceRole.FINGERPRINT_READER:
                ok, key, detail = await _test_reader(supervisor.reader())
            else:
                ok, key, detail = await _test_camera(supervisor.camera(row.role))
        except DeviceUnavailable as exc:
            ok, key = False, exc.message_key
        except DeviceError as exc:
            supervisor.report_failure(row.role, exc)
            ok, key = False, exc.message_key
        results.append(
            {
                "role": row.role.value,
                "ok": ok,
                "message_key": key,
                "ms": round((time.monotonic() - started) * 1000),
                **detail,
            }
        )
    logger.info("device self-test: %d of %d passed", sum(r["ok"] for r in results), len(results))
    return results


def tech_router(sources: TechSources) -> APIRouter:
    router = APIRouter(prefix="/api/tech")

    @router.get("/status")
    async def get_status() -> dict[str, Any]:
        return await asyncio.to_thread(status, sources)

    @router.get("/logs")
    async def logs(lines: int = 200) -> dict[str, Any]:
        return {"lines": sources.logs.lines(max(1, min(lines, 500)))}

    @router.post("/test-devices")
    async def test_devices() -> dict[str, Any]:
        return {"results": await run_self_test(sources.supervisor)}

    @router.post("/devices/{role}/reset")
    async def reset(role: DeviceRole) -> dict[str, Any]:
        sources.supervisor.reset(role)
        return {"role": role.value, "reset": True}

    @router.get("/accounts")
    async def accounts() -> dict[str, Any]:
        return {
            "accounts": [
                {
                    "username": a.username,
                    "role": a.role.value,
                    "display_name": a.display_name,
                    "has_pin": a.has_pin,
                    "disabled": a.disabled,
                }
                for a in sources.accounts.accounts()
            ]
        }

    @router.post("/accounts", status_code=201)
    async def create_account(body: NewAccountBody) -> dict[str, Any]:
        if body.role is Role.TECHNICIAN:
            raise ApiError(403, "accounts.technician_cli", "technicians are added from the CLI")
        try:
            account = await asyncio.to_thread(
                sources.accounts.create,
                body.username,
                body.role,
                body.password,
                pin=body.pin,
                display_name=body.display_name,
            )
        except AccountError as exc:
            raise ApiError(409, "accounts.invalid", str(exc)) from None
        return {"username": account.username, "role": account.role.value}

    @router.post("/accounts/{username}/unlock")
    async def unlock(username: str) -> dict[str, Any]:
        await asyncio.to_thread(sources.accounts.unlock, username)
        return {"username": username, "unlocked": True}

    return router
