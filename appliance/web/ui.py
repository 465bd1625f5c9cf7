"""The touchscreen UI: the page shell, its static assets and the language catalogs.

Everything is served from the package (``appliance/web/static``): plain
HTML, CSS and ES modules, no CDN and no build step, so the kiosk works
offline. Every response carries a strict Content-Security-Policy (scripts,
styles and connections from this origin only; no inline script).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appliance import i18n
from appliance.accounts import AccountStore, LoginSessions, Role
from appliance.capture_sessions import CaptureSessions
from appliance.config import ApplianceConfig
from appliance.devices import DeviceSupervisor
from appliance.face.capture import FaceCaptureService
from appliance.outbox import Outbox
from appliance.web.auth import AuthServices
from appliance.web.errors import ApiError
from appliance.web.logview import RingBufferHandler
from appliance.web.tech import TechSources
from appliance.workflow.engine import Sealer, WorkflowEngine
from appliance.workflow.face_guidance import load_face_analyser
from appliance.workflow.persist import WorkflowFile

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
        b"form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


@dataclass
class UiServices:
    """Everything the UI routes need, built by the composition root."""

    auth: AuthServices
    workflow: WorkflowEngine
    tech: TechSources
    operator_language: str = "pt-PT"

    @property
    def logs(self) -> RingBufferHandler:
        return self.tech.logs

    async def close(self) -> None:
        """End the live streams (so the web server can stop) and wipe captures."""
        await self.workflow.close()

    async def shutdown(self) -> None:
        """After the web server stopped: release the account store and the log view."""
        self.logs.uninstall()
        self.auth.sessions.end_all()
        self.auth.accounts.close()


def build_ui(
    config: ApplianceConfig,
    supervisor: DeviceSupervisor,
    sessions: CaptureSessions,
    sealer: Sealer | None,
    outbox: Outbox | None,
    *,
    certificate_expiry: Callable[[], datetime | None],
    on_sealed: Callable[[], None] | None = None,
    face: FaceCaptureService | None = None,
    on_quality_reject: Callable[[str], None] | None = None,
) -> UiServices:
    """Assemble the UI services for the composition root (which owns their lifetime)."""
    ui_config, state_dir = config.ui, config.storage.state_dir
    accounts = AccountStore(
        state_dir / "accounts.sqlite",
        max_failures=ui_config.max_failed_logins,
        lockout_s=ui_config.lockout_s,
    )
    if accounts.count(Role.TECHNICIAN) == 0:
        logger.warning("no technician account yet: create one with 'appliance account add'")
    logins = LoginSessions(idle_lock_s=ui_config.idle_lock_s, max_age_s=ui_config.session_max_s)
    workflow = WorkflowEngine(
        WorkflowFile(state_dir / "workflow"),
        supervisor,
        sessions,
        sealer=sealer,
        packet_known=lambda packet_id: (
            outbox is not None and outbox.state_of(packet_id) is not None
        ),
        face_analyser=load_face_analyser(config.quality.face, face),
        finger_limits=config.quality.finger,
        site_id=config.site.claim_id,
        kiosk_name=config.site.kiosk_name,
        default_language=ui_config.applicant_language,
        on_sealed=on_sealed,
        face_service=face if face is not None and face.available() else None,
        on_quality_reject=on_quality_reject,
    )
    workflow.recover()
    logs = RingBufferHandler()
    logs.install()
    tech = TechSources(
        supervisor,
        accounts,
        outbox,
        state_dir,
        certificate_expiry,
        logs,
        config.site.claim_id,
        config.site.kiosk_name,
    )
    return UiServices(AuthServices(accounts, logins), workflow, tech, ui_config.operator_language)


class SecurityHeaders:
    """Adds the CSP and friends to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_ui(api: FastAPI, operator_language: str) -> None:
    """The page shell at ``/``, assets under ``/static``, catalogs under ``/api/i18n``."""
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @router.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    @router.get("/api/i18n/languages")
    async def languages() -> dict[str, Any]:
        return {
            "operator_default": operator_language,
            "operator": list(i18n.OPERATOR_LANGUAGES),
            "applicant": [
                {"code": lang.code, "name": lang.name, "dir": lang.direction}
                for lang in i18n.LANGUAGES
            ],
        }

    @router.get("/api/i18n/applicant/{code}")
    async def applicant(code: str) -> dict[str, Any]:
        if code not in i18n.BY_CODE:
            raise ApiError(404, "i18n.unknown_language", "no such language")
        return i18n.bundle(code)

    @router.get("/api/i18n/operator/{code}")
    async def operator(code: str) -> dict[str, Any]:
        if code not in i18n.OPERATOR_LANGUAGES:
            raise ApiError(404, "i18n.unknown_language", "no such operator language")
        return i18n.operator_bundle(code)

    api.include_router(router)
    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
