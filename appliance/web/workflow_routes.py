"""The enrolment workflow's HTTP API, used by the touchscreen UI (operators, supervisors).

Every route answers with the workflow's view (:class:`WorkflowView`) or a JSON
error whose ``error`` is a message key the UI translates. The operator is the
logged-in account, never a value from the request body. The live previews are
MJPEG (``multipart/x-mixed-replace``) and the per-frame guidance is a
server-sent event stream; both end when the client goes away or the daemon
stops.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Literal, get_args

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from appliance.capture.documents import DOCUMENT_KINDS
from appliance.web.auth import login_of
from appliance.web.display import browser_image
from appliance.web.errors import ApiError
from appliance.web.roles import ENROLLING, allow
from appliance.web.schemas import QrResult
from appliance.workflow.case_step import OVERRIDE_REASONS, Override
from appliance.workflow.case_view import CaseView
from appliance.workflow.engine import WorkflowEngine
from appliance.workflow.preview import LivePreview
from appliance.workflow.state import LANGUAGES, Step, TransitionError
from appliance.workflow.view import WorkflowView
from drivers.interfaces import CaptureKind

BOUNDARY = "frame"
ENROL = allow(*ENROLLING)

#: HTTP status per message key (prefix match for ``device.``); anything else is 409.
STATUS_BY_CODE: dict[str, int] = {
    "not_provisioned": 503,
    "outbox.full": 507,
    "workflow.none": 404,
    "document.not_found": 404,
    "finger.supervisor_refused": 403,
    "finger.supervisor_same_person": 403,
    "auth.locked_out": 423,
    "workflow.bad_language": 422,
    "document.bad_kind": 422,
    "finger.bad_position": 422,
    "finger.bad_reason": 422,
    "face.no_face": 422,
    "case.bad_reason": 422,
}


def status_for(code: str) -> int:
    if code.startswith("device."):
        return 503
    return STATUS_BY_CODE.get(code, 409)


REFERENCE = Field(
    min_length=3,
    max_length=64,
    pattern=r"^[A-Za-z0-9/_.-]+$",
    description="Case reference, or appointment code (APT-...) from the QR slip.",
)


#: The applicant languages and document kinds, as the schema states them (and FastAPI checks).
Language = Literal["pt-PT", "en", "hi", "ne", "bn", "uk", "ur", "fr", "es", "ar"]
DocumentKind = Literal["passport", "residence_permit", "id_card", "other"]
#: The 4-4-2 flow captures slaps only.
SlapKind = Literal["slap_right_four", "slap_left_four", "slap_thumbs"]
assert get_args(Language) == LANGUAGES and get_args(DocumentKind) == DOCUMENT_KINDS


class OverrideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supervisor: str = Field(min_length=1, max_length=64, description="Supervisor account.")
    pin: str = Field(min_length=1, max_length=32, description="The supervisor's PIN.")
    reason: str = Field(
        pattern="^(" + "|".join(OVERRIDE_REASONS) + ")$", description="Why the case is overridden."
    )


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_reference: str = REFERENCE
    language: Language = Field(default="pt-PT", description="Applicant language.")
    identity_confirmed: bool = Field(
        default=False,
        description="The operator compared the case's data with the identity document presented.",
    )
    override: OverrideBody | None = Field(
        default=None,
        description="A supervisor's override for a case not found, for another site, closed or "
        "not verifiable.",
    )


class CaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = REFERENCE


class LanguageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language = Field(description="One of the applicant languages.")


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

    kind: DocumentKind = Field(description="passport, residence_permit, id_card or other.")


class SupervisorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supervisor: str = Field(min_length=1, max_length=64, description="Supervisor account.")
    pin: str = Field(min_length=1, max_length=32, description="The supervisor's PIN.")
    reason: str = Field(min_length=1, max_length=200, description="Why, for the record.")


class ChipDecisionBody(SupervisorBody):
    accepted: bool = Field(description="Continue with this document (true) or not (false).")


class GotoBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: Step = Field(description="A capture step to go back to.")


def workflow_router(engine: WorkflowEngine) -> APIRouter:
    router = APIRouter(prefix="/api/workflow", tags=["workflow"])

    async def act(work: Awaitable[None]) -> WorkflowView:
        try:
            await work
        except TransitionError as exc:
            raise ApiError(status_for(exc.code), exc.code, str(exc), **exc.extra) from None
        return engine.view()

    @router.get("", **ENROL)
    async def view() -> WorkflowView:
        return engine.view()

    @router.post("/case", **ENROL)
    async def look_up(request: Request, body: CaseBody) -> CaseView:
        """Who the reference names (the start screen's case panel); starts nothing."""
        return await engine.case.look_up(body.reference, _user(request))

    @router.post("", status_code=201, **ENROL)
    async def start(request: Request, body: StartBody) -> WorkflowView:
        override = None
        if body.override is not None:
            o = body.override
            override = Override(o.supervisor, o.pin, o.reason)
        return await act(
            engine.start(
                body.case_reference,
                body.language,
                _user(request),
                identity_confirmed=body.identity_confirmed,
                override=override,
            )
        )

    @router.delete("", **ENROL)
    async def cancel() -> WorkflowView:
        return await act(engine.cancel())

    @router.post("/scan", **ENROL)
    async def scan(body: ScanBody) -> QrResult:
        reference = await engine.documents.scan_qr(body.timeout_s)
        if reference is None:
            raise ApiError(404, "qr.not_found", "no appointment code was seen")
        return QrResult(case_reference=reference)

    @router.post("/language", **ENROL)
    async def language(body: LanguageBody) -> WorkflowView:
        if body.language not in LANGUAGES:
            raise ApiError(422, "workflow.bad_language", "unsupported language")
        return await act(engine.set_language(body.language))

    @router.post("/consent", **ENROL)
    async def consent(body: ConsentBody) -> WorkflowView:
        return await act(engine.consent(body.accepted))

    @router.post("/notice/ack", **ENROL)
    async def acknowledge() -> WorkflowView:
        engine.acknowledge_notice()
        return engine.view()

    @router.get("/preview/{target}.mjpg", response_class=StreamingResponse, **ENROL)
    async def preview(target: str) -> StreamingResponse:
        source = _preview(engine, target)
        return StreamingResponse(
            _mjpeg(source),
            media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @router.get("/preview/{target}/guidance", response_class=StreamingResponse, **ENROL)
    async def guidance(target: str) -> StreamingResponse:
        source = _preview(engine, target)
        return StreamingResponse(
            _events(source), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    @router.post("/face/capture", **ENROL)
    async def face_capture() -> WorkflowView:
        return await act(engine.face.capture_now())

    @router.post("/face/retake", **ENROL)
    async def face_retake() -> WorkflowView:
        return await act(engine.face.retake())

    @router.post("/face/accept", **ENROL)
    async def face_accept() -> WorkflowView:
        return await act(engine.face.accept())

    @router.post("/fingers/{kind}/capture", status_code=202, **ENROL)
    async def slap(kind: SlapKind) -> WorkflowView:
        return await act(engine.fingers.capture_slap(CaptureKind(kind)))

    @router.post("/fingers/missing", **ENROL)
    async def missing(request: Request, body: MissingBody) -> WorkflowView:
        return await act(
            engine.fingers.declare_missing(
                body.position, body.reason, _user(request), body.supervisor, body.pin
            )
        )

    @router.delete("/fingers/missing/{position}", **ENROL)
    async def unmissing(position: int) -> WorkflowView:
        return await act(engine.fingers.remove_missing(position))

    @router.post("/fingers/done", **ENROL)
    async def fingers_done() -> WorkflowView:
        return await act(engine.fingers.finish())

    @router.post("/documents", status_code=201, **ENROL)
    async def document(body: DocumentBody) -> WorkflowView:
        if body.kind not in DOCUMENT_KINDS:
            raise ApiError(422, "document.bad_kind", "unknown document kind")
        return await act(engine.documents.capture(body.kind))

    @router.delete("/documents/{capture_id}", **ENROL)
    async def remove_document(capture_id: str) -> WorkflowView:
        return await act(engine.documents.remove(capture_id))

    @router.post("/documents/done", **ENROL)
    async def documents_done() -> WorkflowView:
        return await act(engine.finish_documents())

    @router.post("/documents/{capture_id}/override", **ENROL)
    async def document_override(
        request: Request, capture_id: str, body: SupervisorBody
    ) -> WorkflowView:
        return await act(
            engine.documents.override(
                capture_id, _user(request), body.supervisor, body.pin, body.reason
            )
        )

    @router.post("/chip", status_code=202, **ENROL)
    async def chip() -> WorkflowView:
        return await act(engine.read_chip())

    @router.post("/chip/decision", **ENROL)
    async def chip_decision(request: Request, body: ChipDecisionBody) -> WorkflowView:
        return await act(
            engine.chip.decide(
                body.accepted, _user(request), body.supervisor, body.pin, body.reason
            )
        )

    @router.get("/chip/portrait", response_class=Response, **ENROL)
    async def chip_portrait() -> Response:
        data = await asyncio.to_thread(engine.chip.portrait_jpeg)
        if data is None:
            raise ApiError(404, "chip.no_portrait", "no chip portrait")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @router.post("/goto", **ENROL)
    async def goto(body: GotoBody) -> WorkflowView:
        return await act(engine.goto(body.step))

    @router.post("/submit", status_code=202, **ENROL)
    async def submit(request: Request) -> WorkflowView:
        return await act(engine.submission.submit(_user(request)))

    @router.post("/finish", **ENROL)
    async def finish() -> WorkflowView:
        return await act(engine.finish())

    @router.get("/captures/{capture_id}", response_class=Response, **ENROL)
    async def capture(capture_id: str) -> Response:
        found = engine.capture_for_review(capture_id)
        if found is None:
            raise ApiError(404, "capture_not_found", "no such capture")
        data, media_type = await browser_image(found)
        return Response(data, media_type=media_type, headers={"Cache-Control": "no-store"})

    return router


def _user(request: Request) -> str:
    return login_of(request).username


def _preview(engine: WorkflowEngine, target: str) -> LivePreview:
    if target == "face":
        return engine.face.preview
    if target == "document":
        return engine.documents.preview
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
