"""The enrolment workflow's HTTP API, used by the touchscreen UI.

Every route answers with the workflow's view (see
:meth:`WorkflowEngine.view`) or a JSON error whose ``error`` is a message key
the UI translates. The live previews are MJPEG (``multipart/x-mixed-replace``)
and the per-frame guidance is a server-sent event stream; both end when the
client goes away or the daemon stops.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from appliance.accounts import AccountStore, AuthError, LockedOut, Role
from appliance.web.auth import login_of
from appliance.web.errors import ApiError
from appliance.workflow.engine import DOCUMENT_KINDS, WorkflowEngine
from appliance.workflow.preview import LivePreview
from appliance.workflow.state import LANGUAGES, Step, TransitionError
from drivers.interfaces import CaptureKind

BOUNDARY = "frame"


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_reference: str = Field(
        min_length=3, max_length=64, pattern=r"^[A-Za-z0-9/_.-]+$", description="Case reference."
    )
    language: str = Field(default="pt-PT", description="Applicant language.")


class LanguageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: str = Field(description="One of the applicant languages.")


class ConsentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accepted: bool = Field(description="The applicant consents (false cancels).")


class ScanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(default=6.0, gt=0, le=30, description="Give up after this long.")


class MissingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: int = Field(ge=1, le=10, description="FGP code of the missing finger.")
    reason: str = Field(pattern="^(XX|UP)$", description="XX amputated, UP unable to print.")
    supervisor: str = Field(min_length=1, max_length=64, description="Supervisor account.")
    pin: str = Field(min_length=1, max_length=32, description="The supervisor's PIN.")


class DocumentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="passport, residence_permit, id_card or other.")


class GotoBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: Step = Field(description="A capture step to go back to.")


def _status_for(code: str) -> int:
    if code.startswith("device.") or code == "not_provisioned":
        return 503
    if code in ("workflow.none",):
        return 404
    return 409


def workflow_router(engine: WorkflowEngine, accounts: AccountStore) -> APIRouter:
    router = APIRouter(prefix="/api/workflow")

    async def act(coro: Any) -> dict[str, Any]:
        try:
            await coro
        except TransitionError as exc:
            raise ApiError(_status_for(exc.code), exc.code, str(exc)) from None
        return engine.view()

    @router.get("")
    async def view() -> dict[str, Any]:
        return engine.view()

    @router.post("", status_code=201)
    async def start(request: Request, body: StartBody) -> dict[str, Any]:
        return await act(engine.start(body.case_reference, body.language, _user(request)))

    @router.delete("")
    async def cancel() -> dict[str, Any]:
        return await act(engine.cancel())

    @router.post("/scan")
    async def scan(body: ScanBody) -> dict[str, Any]:
        reference = await engine.scan_qr(body.timeout_s)
        if reference is None:
            raise ApiError(404, "qr.not_found", "no appointment code was seen")
        return {"case_reference": reference}

    @router.post("/language")
    async def language(body: LanguageBody) -> dict[str, Any]:
        if body.language not in LANGUAGES:
            raise ApiError(422, "workflow.bad_language", "unsupported language")
        return await act(engine.set_language(body.language))

    @router.post("/consent")
    async def consent(body: ConsentBody) -> dict[str, Any]:
        return await act(engine.consent(body.accepted))

    @router.post("/notice/ack")
    async def acknowledge() -> dict[str, Any]:
        engine.acknowledge_notice()
        return engine.view()

    @router.get("/preview/{target}.mjpg")
    async def preview(target: str) -> StreamingResponse:
        source = _preview(engine, target)
        return StreamingResponse(
            _mjpeg(source),
            media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @router.get("/preview/{target}/guidance")
    async def guidance(target: str) -> StreamingResponse:
        source = _preview(engine, target)
        return StreamingResponse(
            _events(source), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    @router.post("/face/capture")
    async def face_capture() -> dict[str, Any]:
        return await act(engine.capture_face())

    @router.post("/face/retake")
    async def face_retake() -> dict[str, Any]:
        return await act(engine.retake_face())

    @router.post("/face/accept")
    async def face_accept() -> dict[str, Any]:
        return await act(engine.accept_face())

    @router.post("/fingers/{kind}/capture", status_code=202)
    async def slap(kind: CaptureKind) -> dict[str, Any]:
        if kind not in (
            CaptureKind.SLAP_RIGHT_FOUR,
            CaptureKind.SLAP_LEFT_FOUR,
            CaptureKind.SLAP_THUMBS,
        ):
            raise ApiError(422, "finger.not_a_slap", "the 4-4-2 flow captures slaps")
        return await act(engine.capture_slap(kind))

    @router.post("/fingers/missing")
    async def missing(request: Request, body: MissingBody) -> dict[str, Any]:
        operator = _user(request)
        try:
            supervisor = await asyncio.to_thread(
                accounts.verify_pin, body.supervisor, body.pin, role=Role.SUPERVISOR
            )
        except LockedOut as exc:
            raise ApiError(
                423, exc.code, "supervisor locked out", retry_after_s=round(exc.retry_after_s)
            ) from None
        except AuthError as exc:
            raise ApiError(403, "finger.supervisor_refused", exc.code) from None
        if supervisor.username == operator:
            raise ApiError(403, "finger.supervisor_same_person", "another person must confirm")
        return await act(
            engine.declare_missing(body.position, body.reason, operator, supervisor.username)
        )

    @router.delete("/fingers/missing/{position}")
    async def unmissing(position: int) -> dict[str, Any]:
        return await act(engine.remove_missing(position))

    @router.post("/fingers/done")
    async def fingers_done() -> dict[str, Any]:
        return await act(engine.finish_fingerprints())

    @router.post("/documents", status_code=201)
    async def document(body: DocumentBody) -> dict[str, Any]:
        if body.kind not in DOCUMENT_KINDS:
            raise ApiError(422, "document.bad_kind", "unknown document kind")
        return await act(engine.capture_document(body.kind))

    @router.delete("/documents/{capture_id}")
    async def remove_document(capture_id: str) -> dict[str, Any]:
        return await act(engine.remove_document(capture_id))

    @router.post("/documents/done")
    async def documents_done() -> dict[str, Any]:
        return await act(engine.finish_documents())

    @router.post("/goto")
    async def goto(body: GotoBody) -> dict[str, Any]:
        return await act(engine.goto(body.step))

    @router.post("/submit")
    async def submit(request: Request) -> dict[str, Any]:
        return await act(engine.submit(_user(request)))

    @router.post("/finish")
    async def finish() -> dict[str, Any]:
        return await act(engine.finish())

    @router.get("/captures/{capture_id}")
    async def capture(capture_id: str) -> Response:
        found = engine.capture_bytes(capture_id)
        if found is None:
            raise ApiError(404, "capture_not_found", "no such capture")
        data, media_type = found
        return Response(data, media_type=media_type, headers={"Cache-Control": "no-store"})

    return router


def _user(request: Request) -> str:
    return login_of(request).username


def _preview(engine: WorkflowEngine, target: str) -> LivePreview:
    if target == "face":
        return engine.face_preview
    if target == "document":
        return engine.document_preview
    raise ApiError(404, "preview.not_found", "no such preview")


async def _mjpeg(source: LivePreview) -> AsyncIterator[bytes]:
    async for frame in source.frames():
        head = (
            f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame.jpeg)}\r\n"
            f"X-Frame-Sequence: {frame.sequence}\r\nX-Capture-Time: {frame.captured_at:.6f}\r\n\r\n"
        )
        yield head.encode() + frame.jpeg + b"\r\n"


async def _events(source: LivePreview) -> AsyncIterator[bytes]:
    async for analysis in source.analyses():
        yield f"data: {json.dumps(analysis)}\n\n".encode()
