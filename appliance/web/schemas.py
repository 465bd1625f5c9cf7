"""The web contract: every response model, and one serializer per thing.

The workflow's view (:mod:`appliance.workflow.view`) is returned as its typed
dataclasses; everything else the API answers is modelled here, so the OpenAPI
schema documents every response.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field

from appliance.accounts import Account, LoginSession, LoginSessions
from appliance.capture.device_test import DeviceTestResult
from appliance.devices import DeviceStatus
from appliance.outbox import OutboxStatus


class ErrorResponse(BaseModel):
    error: str = Field(description="Message key the UI translates.")
    message: str = Field(description="English text for logs and developers.")


class Health(BaseModel):
    status: str
    version: str


class DeviceRow(BaseModel):
    """One device as the device list and the technician page show it."""

    role: str
    device_id: str
    kind: str
    driver: str
    vendor: str
    model: str
    serial: str
    firmware: str
    simulated: bool
    state: str = Field(description="closed, ready, busy, disconnected, error or refused.")
    message_key: str | None
    failures: int
    restarts_in_window: int


class DeviceList(BaseModel):
    devices: list[DeviceRow]


class OutboxStatusModel(BaseModel):
    depth: int = Field(description="Packets waiting for central.")
    bytes: int
    oldest_age_s: float
    committed_total: int = Field(description="Packets central has acknowledged.")
    quarantined: int
    quota_bytes: int
    used_percent: float
    warn: bool
    full: bool
    last_delivery_at: float | None = Field(description="Unix time of the last receipt.")


class CertificateModel(BaseModel):
    not_after: str
    days_left: int


class DiskModel(BaseModel):
    total_bytes: int
    free_bytes: int


class TechStatus(BaseModel):
    version: str
    site_id: str
    kiosk: str
    time: float
    devices: list[DeviceRow]
    outbox: OutboxStatusModel | None
    certificate: CertificateModel | None
    disk: DiskModel


class LogLines(BaseModel):
    lines: list[str]


class DeviceTestRow(BaseModel):
    role: str
    ok: bool
    message_key: str
    ms: int
    detail: dict[str, Any]


class DeviceTestReport(BaseModel):
    results: list[DeviceTestRow]


class DeviceReset(BaseModel):
    role: str
    reset: bool


class AccountRow(BaseModel):
    username: str
    role: str
    display_name: str
    has_pin: bool
    disabled: bool
    locked: bool


class AccountList(BaseModel):
    accounts: list[AccountRow]


class AccountCreated(BaseModel):
    username: str
    role: str


class AccountUnlocked(BaseModel):
    username: str
    unlocked: bool


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    locked: bool
    csrf_token: str
    idle_lock_s: float


class LoggedOut(BaseModel):
    logged_out: bool


class LanguageModel(BaseModel):
    code: str
    name: str
    dir: str


class Languages(BaseModel):
    operator_default: str
    operator: list[str]
    applicant: list[LanguageModel]


class QrResult(BaseModel):
    case_reference: str


# ---------------------------------------------------------------- serializers


def device_row(status: DeviceStatus) -> DeviceRow:
    info = status.info
    return DeviceRow(
        role=status.role.value,
        device_id=info.device_id,
        kind=info.kind.value,
        driver=info.driver,
        vendor=info.vendor,
        model=info.model,
        serial=info.serial,
        firmware=info.firmware,
        simulated=info.simulated,
        state=status.state.value,
        message_key=status.message_key,
        failures=status.failures,
        restarts_in_window=status.restarts_in_window,
    )


def outbox_status(status: OutboxStatus, last_delivery_at: float | None) -> OutboxStatusModel:
    used = round(100 * status.bytes / status.quota_bytes, 1) if status.quota_bytes else 0.0
    return OutboxStatusModel(
        depth=status.depth,
        bytes=status.bytes,
        oldest_age_s=round(status.oldest_age_s, 1),
        committed_total=status.committed_total,
        quarantined=status.quarantined,
        quota_bytes=status.quota_bytes,
        used_percent=used,
        warn=status.warn,
        full=status.full,
        last_delivery_at=last_delivery_at,
    )


def certificate(not_after_timestamp: float, not_after_iso: str) -> CertificateModel:
    return CertificateModel(
        not_after=not_after_iso, days_left=int((not_after_timestamp - time.time()) // 86400)
    )


def device_test_row(result: DeviceTestResult) -> DeviceTestRow:
    return DeviceTestRow(
        role=result.role.value,
        ok=result.ok,
        message_key=result.message_key,
        ms=result.ms,
        detail=result.detail,
    )


def account_row(account: Account) -> AccountRow:
    return AccountRow(
        username=account.username,
        role=account.role.value,
        display_name=account.display_name,
        has_pin=account.has_pin,
        disabled=account.disabled,
        locked=account.locked,
    )


def me(session: LoginSession, sessions: LoginSessions) -> Me:
    return Me(
        username=session.username,
        display_name=session.display_name,
        role=session.role.value,
        locked=session.locked,
        csrf_token=session.csrf_token,
        idle_lock_s=sessions.idle_lock_s,
    )
