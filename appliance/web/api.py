"""The local HTTP API (FastAPI): health, device list and a minimal capture-session API.

Every error leaves as JSON ``{"error": code, "message": text}`` with a fitting
status; no traceback ever reaches the client. Captured images are served only
from memory, to the local screen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from appliance import __version__
from appliance.capture_sessions import CaptureSession, CaptureSessions, SessionNotFound
from appliance.config.quality import FingerQualityThresholds
from appliance.devices import DeviceRole, DeviceSupervisor, DeviceUnavailable
from appliance.enrolment import Enrolment, submit_enrolment
from appliance.face.capture import FaceCaptureService, NoFaceFound
from appliance.finger.items import tenprint_items
from appliance.metrics import ApplianceMetrics
from appliance.outbox import Outbox, OutboxError, OutboxFull
from appliance.web.auth import AuthGate, auth_router
from appliance.web.errors import ApiError
from appliance.web.tech import tech_router
from appliance.web.ui import SecurityHeaders, UiServices, install_ui
from appliance.web.workflow_routes import workflow_router
from drivers.errors import DeviceError
from drivers.interfaces import CaptureKind, CaptureRequest, FingerPosition
from packet.keys import CentralPublicKey
from packet.manifest import uuid7
from packet.seal import DeviceSigner, ItemSource

logger = logging.getLogger(__name__)


class FingerCaptureBody(BaseModel):
    """Ask the reader for one capture."""

    model_config = ConfigDict(extra="forbid")

    kind: CaptureKind = Field(description="flat_single, rolled_single or a slap kind.")
    position: FingerPosition | None = Field(
        default=None,
        description="ANSI/NIST FGP code. Slaps default to their own code (13, 14, 15).",
    )
    timeout_s: float = Field(default=20.0, gt=0, le=120, description="Give up after this long.")


_SLAP_FGP = {
    CaptureKind.SLAP_RIGHT_FOUR: FingerPosition.PLAIN_RIGHT_FOUR,
    CaptureKind.SLAP_LEFT_FOUR: FingerPosition.PLAIN_LEFT_FOUR,
    CaptureKind.SLAP_THUMBS: FingerPosition.PLAIN_THUMBS,
}


class MissingFingerBody(BaseModel):
    """A missing finger, declared by the operator and confirmed by a supervisor."""

    model_config = ConfigDict(extra="forbid")

    position: int = Field(ge=1, le=10, description="FGP code of the missing finger.")
    reason: str = Field(pattern="^(XX|UP)$", description="XX amputated, UP unable to print.")
    declared_by: str = Field(min_length=1, max_length=64, description="Operator account.")
    confirmed_by: str = Field(min_length=1, max_length=64, description="Supervisor account.")


class TenPrintBody(BaseModel):
    """Run the 4-4-2 slap sequence on the reader."""

    model_config = ConfigDict(extra="forbid")

    missing: list[MissingFingerBody] = Field(
        default_factory=list, max_length=10, description="Declared missing fingers."
    )


class SubmitBody(BaseModel):
    """Seal the session's captures into the outbox."""

    model_config = ConfigDict(extra="forbid")

    case_reference: str = Field(
        min_length=3,
        max_length=64,
        pattern=r"^[A-Za-z0-9/_.-]+$",
        description="AIMA case or appointment reference.",
    )
    operator_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Operator account that ran the enrolment.",
    )


_ITEM_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/jp2": "jp2"}


@dataclass
class Submitter:
    """Seals a capture session into the outbox (present once the kiosk is provisioned)."""

    outbox: Outbox
    signer: DeviceSigner
    central_key: CentralPublicKey
    site_id: str
    notify: Callable[[], None] | None = None

    def submit(self, session: CaptureSession, body: SubmitBody) -> str:
        return self.seal(session, body.case_reference, body.operator_id, uuid7())

    def seal(
        self, session: CaptureSession, case_reference: str, operator_id: str, packet_id: str
    ) -> str:
        """Seal every capture of ``session`` into the outbox as packet ``packet_id``."""
        enrolment = Enrolment(
            case_reference=case_reference,
            operator_id=operator_id,
            site_id=self.site_id,
            packet_id=packet_id,
        )
        for number, capture in enumerate(session.captures.values()):
            ext = _ITEM_EXT.get(capture.media_type, "bin")
            name = str(capture.metadata.get("name") or f"{number:02d}-{capture.item_type}.{ext}")
            quality = {
                k: v for k, v in capture.metadata.items() if isinstance(v, int | float | str)
            }
            enrolment.items.append(
                ItemSource(
                    name,
                    capture.item_type,
                    capture.media_type,
                    bytes(capture.data),
                    quality=quality,
                )
            )
        entry = submit_enrolment(enrolment, self.outbox, self.signer, self.central_key)
        return entry.packet_id


def create_api(
    supervisor: DeviceSupervisor,
    sessions: CaptureSessions,
    submitter: Submitter | None = None,
    outbox: Outbox | None = None,
    metrics: ApplianceMetrics | None = None,
    finger_limits: FingerQualityThresholds | None = None,
    *,
    ui: UiServices | None = None,
    face: FaceCaptureService | None = None,
) -> FastAPI:
    """Build the FastAPI app over the running services (called by the composition root).

    Every route but the public ones (see :mod:`appliance.web.auth`) needs a login
    session; without ``ui`` (no accounts) nothing but those public routes answers.
    """
    api = FastAPI(
        title="CLAIM kiosk appliance",
        version=__version__,
        docs_url=None,
        redoc_url=None,
    )
    _install_error_handlers(api)
    api.add_middleware(AuthGate, services=ui.auth if ui is not None else None)
    api.add_middleware(SecurityHeaders)
    install_ui(api, ui.operator_language if ui is not None else "pt-PT")
    if ui is not None:
        api.include_router(auth_router(ui.auth))
        api.include_router(workflow_router(ui.workflow, ui.auth.accounts))
        api.include_router(tech_router(ui.tech))

    @api.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @api.get("/metrics")
    async def prometheus() -> Response:
        if metrics is None:
            raise ApiError(404, "no_metrics", "metrics are not enabled")
        body = await asyncio.to_thread(metrics.render)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    @api.get("/api/devices")
    async def devices() -> dict[str, Any]:
        return {
            "devices": [
                {
                    "role": s.role.value,
                    "device_id": s.info.device_id,
                    "kind": s.info.kind.value,
                    "driver": s.info.driver,
                    "vendor": s.info.vendor,
                    "model": s.info.model,
                    "serial": s.info.serial,
                    "firmware": s.info.firmware,
                    "simulated": s.info.simulated,
                    "state": s.state.value,
                    "message_key": s.message_key,
                    "failures": s.failures,
                    "restarts_in_window": s.restarts_in_window,
                }
                for s in supervisor.statuses()
            ]
        }

    @api.post("/api/sessions", status_code=201)
    async def create_session() -> dict[str, Any]:
        session = sessions.create()
        return {"session_id": session.session_id, "captures": []}

    @api.get("/api/sessions/{session_id}")
    async def get_session(session_id: str) -> dict[str, Any]:
        session = _session(sessions, session_id)
        return {
            "session_id": session.session_id,
            "captures": [c.describe() for c in session.captures.values()],
        }

    @api.delete("/api/sessions/{session_id}")
    async def discard_session(session_id: str) -> dict[str, Any]:
        if not sessions.discard(session_id):
            raise ApiError(404, "session_not_found", "no such capture session")
        return {"session_id": session_id, "discarded": True}

    @api.post("/api/sessions/{session_id}/face", status_code=201)
    async def capture_face(session_id: str) -> dict[str, Any]:
        session = _session(sessions, session_id)
        role = DeviceRole.FACE_CAMERA
        try:
            camera = supervisor.camera(role)
            frame = await camera.read_frame()
        except DeviceUnavailable as exc:
            raise ApiError(503, exc.message_key, str(exc)) from None
        except DeviceError as exc:
            supervisor.report_failure(role, exc)
            if metrics is not None:
                metrics.device_errors.labels(role.value, exc.message_key).inc()
            raise ApiError(503, exc.message_key, exc.detail) from None
        if metrics is not None:
            metrics.captures.labels("face").inc()
        if face is None or not face.available():
            jpeg = await asyncio.to_thread(_encode, frame.image, ".jpg")
            height, width = frame.image.shape[:2]
            capture = session.add(
                "face",
                "image/jpeg",
                jpeg,
                width=width,
                height=height,
                device_id=camera.info.device_id,
            )
            return capture.describe()
        # Full ICAO check and the ISO/IEC 19794-5 token image; the figures go into
        # the item's manifest entry. A non-compliant photo is kept (the operator
        # decides to retake) and says why.
        try:
            item = await asyncio.to_thread(face.item_from_frame, frame.image)
        except NoFaceFound:
            raise ApiError(422, "face.no_face", "no face in the picture") from None
        if metrics is not None:
            for check in item.report.failed:
                metrics.quality_rejects.labels(check).inc()
        ext = "jp2" if item.media_type == "image/jp2" else "jpg"
        capture = session.add(
            "face",
            item.media_type,
            item.data,
            name=f"face.{ext}",
            device_id=camera.info.device_id,
            **item.metadata,
        )
        return {**capture.describe(), "prompts": item.prompts}

    @api.post("/api/sessions/{session_id}/fingerprints", status_code=201)
    async def capture_finger(session_id: str, body: FingerCaptureBody) -> dict[str, Any]:
        session = _session(sessions, session_id)
        position = body.position or _SLAP_FGP.get(body.kind)
        if position is None:
            raise ApiError(422, "position_required", "single-finger captures need a position")
        role = DeviceRole.FINGERPRINT_READER
        try:
            reader = supervisor.reader()
            image = await reader.capture(CaptureRequest(body.kind, position, body.timeout_s))
        except DeviceUnavailable as exc:
            raise ApiError(503, exc.message_key, str(exc)) from None
        except DeviceError as exc:
            supervisor.report_failure(role, exc)
            if metrics is not None:
                metrics.device_errors.labels(role.value, exc.message_key).inc()
            raise ApiError(503, exc.message_key, exc.detail) from None
        if metrics is not None:
            metrics.captures.labels(body.kind.value).inc()
        png = await asyncio.to_thread(_encode, image.pixels, ".png")
        height, width = image.pixels.shape[:2]
        item_type = (
            "finger"
            if body.kind in (CaptureKind.FLAT_SINGLE, CaptureKind.ROLLED_SINGLE)
            else "slap"
        )
        capture = session.add(
            item_type,
            "image/png",
            png,
            kind=body.kind.value,
            position=int(position),
            width=width,
            height=height,
            ppi=image.ppi,
            device_id=reader.info.device_id,
        )
        return capture.describe()

    @api.post("/api/sessions/{session_id}/tenprint", status_code=201)
    async def tenprint(session_id: str, body: TenPrintBody) -> dict[str, Any]:
        from appliance.config.quality import FingerQualityThresholds
        from appliance.finger.flow import FingerException, FlowError, TenPrintFlow
        from appliance.finger.records import MissingFinger

        session = _session(sessions, session_id)
        try:
            exceptions = [
                FingerException(
                    MissingFinger(FingerPosition(m.position), m.reason),
                    m.declared_by,
                    m.confirmed_by,
                )
                for m in body.missing
            ]
            reader = supervisor.reader()
            flow = TenPrintFlow(reader, finger_limits or FingerQualityThresholds())
            result = await flow.capture_442(exceptions)
        except FlowError as exc:
            raise ApiError(409, "finger.exception_not_confirmed", str(exc)) from None
        except DeviceUnavailable as exc:
            raise ApiError(503, exc.message_key, str(exc)) from None
        except DeviceError as exc:
            supervisor.report_failure(DeviceRole.FINGERPRINT_READER, exc)
            raise ApiError(503, exc.message_key, exc.detail) from None
        summary = {
            "ok": result.ok,
            "problems": result.problems,
            "slaps": [
                {
                    "kind": kind.value,
                    "accepted": slap.accepted,
                    "attempts": slap.attempts,
                    "reason": slap.segmentation.reason,
                    "fingers": [
                        {
                            "position": int(p),
                            "nfiq2": a.nfiq2,
                            "accepted": a.accepted,
                            "feedback": a.feedback,
                        }
                        for p, _, a in slap.fingers
                    ],
                }
                for kind, slap in result.slaps.items()
            ],
        }
        if result.ok:
            for name, item_type, media, data, quality in await asyncio.to_thread(
                tenprint_items, result
            ):
                session.add(item_type, media, data, name=name, **quality)
        if metrics is not None:
            metrics.captures.labels("tenprint").inc()
        return summary

    @api.post("/api/sessions/{session_id}/submit", status_code=201)
    async def submit(session_id: str, body: SubmitBody) -> dict[str, Any]:
        session = _session(sessions, session_id)
        if submitter is None:
            raise ApiError(
                503,
                "not_provisioned",
                "this kiosk is not provisioned: captures cannot be submitted",
            )
        if not session.captures:
            raise ApiError(409, "nothing_captured", "the session has no captures")
        try:
            packet_id = await asyncio.to_thread(submitter.submit, session, body)
        except OutboxFull as exc:
            raise ApiError(507, "outbox_full", str(exc)) from None
        except OutboxError as exc:
            raise ApiError(500, "outbox_error", str(exc)) from None
        sessions.discard(session_id)  # the captures now exist only sealed
        if metrics is not None:
            metrics.packets_sealed.inc()
        if submitter.notify is not None:
            submitter.notify()
        return {"session_id": session_id, "packet_id": packet_id, "state": "queued"}

    @api.get("/api/outbox")
    async def outbox_status() -> dict[str, Any]:
        if outbox is None:
            raise ApiError(503, "no_outbox", "the outbox is not available")
        status = await asyncio.to_thread(outbox.status)
        return {
            "depth": status.depth,
            "bytes": status.bytes,
            "oldest_age_s": status.oldest_age_s,
            "committed_total": status.committed_total,
            "quarantined": status.quarantined,
            "quota_bytes": status.quota_bytes,
            "warn": status.warn,
            "full": status.full,
        }

    @api.get("/api/sessions/{session_id}/captures/{capture_id}")
    async def capture_image(session_id: str, capture_id: str) -> Response:
        session = _session(sessions, session_id)
        capture = session.captures.get(capture_id)
        if capture is None:
            raise ApiError(404, "capture_not_found", "no such capture in this session")
        return Response(
            bytes(capture.data),
            media_type=capture.media_type,
            headers={"Cache-Control": "no-store"},
        )

    return api


def _session(sessions: CaptureSessions, session_id: str) -> CaptureSession:
    try:
        return sessions.get(session_id)
    except SessionNotFound:
        raise ApiError(404, "session_not_found", "no such capture session") from None


def _encode(image: np.ndarray[Any, Any], ext: str) -> bytes:
    ok, buffer = cv2.imencode(ext, image)
    if not ok:
        raise ApiError(500, "encode_failed", "could not encode the capture")
    return bytes(buffer)


def _install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            {"error": exc.code, "message": exc.message, **exc.extra}, status_code=exc.status
        )

    @api.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        return JSONResponse(
            {"error": "invalid_request", "message": "the request is invalid", "problems": problems},
            status_code=422,
        )

    @api.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": "http_error", "message": str(exc.detail)}, status_code=exc.status_code
        )

    @api.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error in API handler")
        return JSONResponse(
            {"error": "internal_error", "message": "internal error; see the appliance log"},
            status_code=500,
        )
