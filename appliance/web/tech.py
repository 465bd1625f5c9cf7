"""Technician pages' API (role ``technician`` only).

Status (devices, outbox depth, last successful upload, certificate expiry,
disk), the redacted log view, the device test (through the capture service,
which never seals anything), device reset and operator account administration.
"""

from __future__ import annotations

import asyncio
import shutil
import time

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from appliance import __version__
from appliance.accounts import AccountError, Role
from appliance.devices import DeviceRole
from appliance.services import Services
from appliance.web.auth import login_of
from appliance.web.errors import ApiError
from appliance.web.roles import allow
from appliance.web.schemas import (
    AccountCreated,
    AccountList,
    AccountUnlocked,
    DeviceReset,
    DeviceTestReport,
    DiskModel,
    LogLines,
    TechStatus,
    account_row,
    certificate,
    device_row,
    device_test_row,
    outbox_status,
)

TECHNICIAN = allow(Role.TECHNICIAN)


class NewAccountBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=32, description="Account name.")
    role: Role = Field(description="operator or supervisor (technicians use the CLI).")
    password: str = Field(min_length=8, max_length=256, description="Initial password.")
    pin: str | None = Field(
        default=None, max_length=12, description="PIN (6-12 digits), required for supervisors."
    )
    display_name: str | None = Field(default=None, max_length=64, description="Name shown.")


def status(services: Services) -> TechStatus:
    outbox = None
    if services.outbox is not None:
        outbox = outbox_status(services.outbox.status(), services.outbox.last_delivery_at())
    expiry = services.certificate_expiry()
    disk = shutil.disk_usage(services.config.storage.state_dir)
    site = services.config.site
    return TechStatus(
        version=__version__,
        site_id=site.claim_id,
        kiosk=site.kiosk_name,
        time=time.time(),
        devices=[device_row(s) for s in services.supervisor.statuses()],
        outbox=outbox,
        certificate=None if expiry is None else certificate(expiry.timestamp(), expiry.isoformat()),
        disk=DiskModel(total_bytes=disk.total, free_bytes=disk.free),
    )


def tech_router(services: Services) -> APIRouter:
    router = APIRouter(prefix="/api/tech", tags=["technician"])
    accounts = services.accounts

    def record(request: Request, action: str, target: str) -> None:
        """A technician action, in the record of operations."""
        if services.audit is not None:
            user = login_of(request).username
            services.audit.record("tech.action", {"user": user, "action": action, "target": target})

    @router.get("/status", **TECHNICIAN)
    async def get_status() -> TechStatus:
        return await asyncio.to_thread(status, services)

    @router.get("/logs", **TECHNICIAN)
    async def logs(lines: int = 200) -> LogLines:
        return LogLines(lines=services.logs.lines(max(1, min(lines, 500))))

    @router.post("/test-devices", **TECHNICIAN)
    async def test_devices(request: Request) -> DeviceTestReport:
        record(request, "device_test", "all")
        results = await services.capture.test_devices()
        return DeviceTestReport(results=[device_test_row(r) for r in results])

    @router.post("/devices/{role}/reset", **TECHNICIAN)
    async def reset(request: Request, role: DeviceRole) -> DeviceReset:
        if role not in {row.role for row in services.supervisor.statuses()}:
            raise ApiError(404, "device.not_configured", "this kiosk has no such device")
        record(request, "device_reset", role.value)
        services.supervisor.reset(role)
        return DeviceReset(role=role.value, reset=True)

    @router.get("/accounts", **TECHNICIAN)
    async def list_accounts() -> AccountList:
        return AccountList(accounts=[account_row(a) for a in accounts.accounts()])

    @router.post("/accounts", status_code=201, **TECHNICIAN)
    async def create_account(request: Request, body: NewAccountBody) -> AccountCreated:
        if body.role is Role.TECHNICIAN:
            raise ApiError(403, "accounts.technician_cli", "technicians are added from the CLI")
        try:
            account = await asyncio.to_thread(
                accounts.create,
                body.username,
                body.role,
                body.password,
                pin=body.pin,
                display_name=body.display_name,
            )
        except AccountError as exc:
            raise ApiError(409, "accounts.invalid", str(exc)) from None
        record(request, f"account_created:{account.role.value}", account.username)
        return AccountCreated(username=account.username, role=account.role.value)

    @router.post("/accounts/{username}/unlock", **TECHNICIAN)
    async def unlock(request: Request, username: str) -> AccountUnlocked:
        await asyncio.to_thread(accounts.unlock, username)
        record(request, "account_unlocked", username)
        return AccountUnlocked(username=username, unlocked=True)

    return router
