"""The enrolment workflow's HTTP API, used by the touchscreen UI (operators, supervisors).

Every route answers with the workflow's view (:class:`WorkflowView`) or a JSON
error whose ``error`` is a message key the UI translates. The operator is the
logged-in account, never a value from the request body. The live previews are
MJPEG (``multipart/x-mixed-replace``) and the per-frame guidance is a
server-sent event stream; both end when the client goes away or the daemon
stops. The fingerprint reader's live image is a polled JPEG (memory only).

An enrolment belongs to the operator who started it: every route but the view
and the handover (resume, discard) refuses another user with
``workflow.other_operator``. ``GET /api/applicant`` is public: it feeds the
applicant's own screen and carries no case reference, name or image.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import cv2
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from appliance.receipt.printing import ReceiptPrinting, qr_svg, qr_text
from appliance.web.auth import login_of
from appliance.web.display import browser_image
from appliance.web.errors import ApiError
from appliance.web.roles import ENROLLING, PUBLIC, allow
from appliance.web.schemas import QrResult
from appliance.web.workflow_bodies import (
    CaseBody,
    ChipDecisionBody,
    ConsentBody,
    DiscardBody,
    DocumentBody,
    GotoBody,
    LanguageBody,
    MissingBody,
    ScanBody,
    SlapKind,
    StartBody,
    SupervisorBody,
)
from appliance.workflow.case_step import Override
from appliance.workflow.case_view import CaseView
from appliance.workflow.engine import WorkflowEngine
from appliance.workflow.operations import report
from appliance.workflow.preview import LivePreview
from appliance.workflow.state import LANGUAGES, Step, TransitionError
from appliance.workflow.view import ApplicantView, WorkflowView
from drivers.errors import DeviceError
from drivers.interfaces import CaptureKind, ImageU8

BOUNDARY = "frame"
ENROL_ANY = allow(*ENROLLING)
NO_STORE = {"Cache-Control": "no-store"}
SLAP_SHOWN_WIDTH = 800  # the screen shows a slap a few hundred pixels wide

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
    "workflow.other_operator": 423,
}


def status_for(code: str) -> int:
    if code.startswith("device."):
        return 503
    return STATUS_BY_CODE.get(code, 409)


def workflow_router(engine: WorkflowEngine, printing: ReceiptPrinting | None) -> APIRouter:
    router = APIRouter(prefix="/api/workflow", tags=["workflow"])

    async def act(work: Awaitable[None]) -> WorkflowView:
        try:
            await work
        except TransitionError as exc:
            raise ApiError(status_for(exc.code), exc.code, str(exc), **exc.extra) from None
        return engine.view()

    async def owner(request: Request) -> None:
        try:
            engine.check_owner(_user(request))
        except TransitionError as exc:
            raise ApiError(status_for(exc.code), exc.code, str(exc)) from None

    # The enrolment's own operator only (others resume or discard it first).
    enrol = {**ENROL_ANY, "dependencies": [*ENROL_ANY["dependencies"], Depends(owner)]}

    @router.get("", **ENROL_ANY)
    async def view() -> WorkflowView:
        return engine.view()

    @router.post("/case", **ENROL_ANY)
    async def look_up(request: Request, body: CaseBody) -> CaseView:
        """Who the reference names (the start screen's case panel); starts nothing."""
        return await engine.case.look_up(body.reference, _user(request))

    @router.post("", status_code=201, **enrol)
    async def start(request: Request, body: StartBody) -> WorkflowView:
        session = login_of(request)
        override = None
        if body.override is not None:
            o = body.override
            override = Override(o.supervisor, o.pin, o.reason)
        return await act(
            engine.start(
                body.case_reference,
                body.language,
                session.username,
                session.role.value,
                identity_confirmed=body.identity_confirmed,
                override=override,
                acknowledge_duplicate=body.acknowledge_duplicate,
            )
        )

    @router.delete("", **enrol)
    async def cancel(request: Request) -> WorkflowView:
        return await act(engine.cancel(_user(request)))

    @router.post("/pause", **enrol)
    async def pause(request: Request) -> WorkflowView:
        """Logging out mid-enrolment: captures stop, the next user resumes or discards."""
        return await act(engine.handover.pause(_user(request)))

    @router.post("/resume", **ENROL_ANY)
    async def resume(request: Request) -> WorkflowView:
        session = login_of(request)
        return await act(engine.handover.resume(session.username, session.role.value))

    @router.post("/discard", **ENROL_ANY)
    async def discard(request: Request, body: DiscardBody) -> WorkflowView:
        return await act(engine.handover.discard(_user(request), body.supervisor, body.pin))

    @router.post("/scan", **enrol)
    async def scan(body: ScanBody) -> QrResult:
        reference = await engine.documents.scan_qr(body.timeout_s)
        if reference is None:
            raise ApiError(404, "qr.not_found", "no appointment code was seen")
        return QrResult(case_reference=reference)

    @router.post("/language", **enrol)
    async def language(body: LanguageBody) -> WorkflowView:
        if body.language not in LANGUAGES:
            raise ApiError(422, "workflow.bad_language", "unsupported language")
        return await act(engine.set_language(body.language))

    @router.post("/consent", **enrol)
    async def consent(request: Request, body: ConsentBody) -> WorkflowView:
        return await act(engine.consent(body.accepted, _user(request)))

    @router.post("/notice/ack", **enrol)
    async def acknowledge() -> WorkflowView:
        engine.acknowledge_notice()
        return engine.view()

    @router.get("/preview/{target}.mjpg", response_class=StreamingResponse, **enrol)
    async def preview(target: str) -> StreamingResponse:
        source = _preview(engine, target)
        return StreamingResponse(
            _mjpeg(source),
            media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @router.get("/preview/{target}/guidance", response_class=StreamingResponse, **enrol)
    async def guidance(target: str) -> StreamingResponse:
        source = _preview(engine, target)
        return StreamingResponse(
            _events(source), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    @router.post("/face/capture", **enrol)
    async def face_capture() -> WorkflowView:
        return await act(engine.face.capture_now())

    @router.post("/face/retake", **enrol)
    async def face_retake() -> WorkflowView:
        return await act(engine.face.retake())

    @router.post("/face/accept", **enrol)
    async def face_accept() -> WorkflowView:
        return await act(engine.face.accept())

    @router.post("/fingers/{kind}/capture", status_code=202, **enrol)
    async def slap(kind: SlapKind) -> WorkflowView:
        return await act(engine.fingers.capture_slap(CaptureKind(kind)))

    @router.get(
        "/fingers/preview.jpg",
        response_class=Response,
        responses={
            200: {"content": {"image/jpeg": {}}, "description": "The reader's live image"},
            204: {"description": "No live image now (between previews)"},
        },
        **enrol,
    )
    async def slap_preview() -> Response:
        """The reader's latest live image while a slap settles (polled; memory only)."""
        found = engine.fingers.preview_image()
        if found is None:  # between previews: nothing to show (not an error)
            return Response(status_code=204, headers=NO_STORE)
        sequence, image = found
        data = await asyncio.to_thread(_jpeg, image, 480)
        return Response(
            data, media_type="image/jpeg", headers={**NO_STORE, "X-Preview-Sequence": str(sequence)}
        )

    @router.get("/fingers/{kind}/image.jpg", response_class=Response, **enrol)
    async def slap_image(kind: SlapKind) -> Response:
        """The captured slap (its boxes are drawn by the screen from the view)."""
        image = engine.fingers.slap_image(CaptureKind(kind))
        if image is None:
            raise ApiError(404, "capture_not_found", "no captured slap")
        data = await asyncio.to_thread(_jpeg, image, SLAP_SHOWN_WIDTH)
        return Response(data, media_type="image/jpeg", headers=NO_STORE)

    @router.post("/fingers/missing", **enrol)
    async def missing(request: Request, body: MissingBody) -> WorkflowView:
        return await act(
            engine.fingers.declare_missing(
                body.position, body.reason, _user(request), body.supervisor, body.pin
            )
        )

    @router.delete("/fingers/missing/{position}", **enrol)
    async def unmissing(position: int) -> WorkflowView:
        return await act(engine.fingers.remove_missing(position))

    @router.post("/fingers/done", **enrol)
    async def fingers_done() -> WorkflowView:
        return await act(engine.fingers.finish())

    @router.post("/documents", status_code=201, **enrol)
    async def document(body: DocumentBody) -> WorkflowView:
        return await act(engine.documents.capture(body.kind))

    @router.delete("/documents/{capture_id}", **enrol)
    async def remove_document(capture_id: str) -> WorkflowView:
        return await act(engine.documents.remove(capture_id))

    @router.post("/documents/done", **enrol)
    async def documents_done() -> WorkflowView:
        return await act(engine.finish_documents())

    @router.post("/documents/{capture_id}/override", **enrol)
    async def document_override(
        request: Request, capture_id: str, body: SupervisorBody
    ) -> WorkflowView:
        return await act(
            engine.documents.override(
                capture_id, _user(request), body.supervisor, body.pin, body.reason
            )
        )

    @router.post("/chip", status_code=202, **enrol)
    async def chip() -> WorkflowView:
        return await act(engine.read_chip())

    @router.post("/chip/decision", **enrol)
    async def chip_decision(request: Request, body: ChipDecisionBody) -> WorkflowView:
        return await act(
            engine.chip.decide(
                body.accepted, _user(request), body.supervisor, body.pin, body.reason
            )
        )

    @router.get("/chip/portrait", response_class=Response, **enrol)
    async def chip_portrait() -> Response:
        data = await asyncio.to_thread(engine.chip.portrait_jpeg)
        if data is None:
            raise ApiError(404, "chip.no_portrait", "no chip portrait")
        return Response(data, media_type="image/jpeg", headers=NO_STORE)

    @router.post("/goto", **enrol)
    async def goto(body: GotoBody) -> WorkflowView:
        return await act(engine.goto(body.step))

    @router.post("/submit", status_code=202, **enrol)
    async def submit(request: Request) -> WorkflowView:
        return await act(engine.submission.submit(_user(request)))

    @router.post("/finish", **enrol)
    async def finish() -> WorkflowView:
        return await act(engine.finish())

    @router.get("/receipt/qr.svg", response_class=Response, **enrol)
    async def receipt_qr() -> Response:
        record = engine.record
        if record is None or record.step is not Step.DONE or not record.packet_id:
            raise ApiError(404, "receipt.none", "no receipt now")
        return Response(
            qr_svg(qr_text(record.packet_id)), media_type="image/svg+xml", headers=NO_STORE
        )

    @router.post("/receipt/print", **enrol)
    async def receipt_print(request: Request) -> WorkflowView:
        record = engine.record
        if printing is None:
            raise ApiError(404, "printer.none", "no receipt printer is configured")
        if record is None or record.step is not Step.DONE or record.receipt is None:
            raise ApiError(409, "receipt.none", "no receipt now")
        view = engine.view()
        try:
            await printing.print_receipt(record.receipt, view.delivery)
        except DeviceError as exc:
            raise ApiError(503, exc.message_key, exc.detail) from None
        report(
            engine.on_operation,
            "receipt.printed",
            workflow_id=record.workflow_id,
            operator=_user(request),
            packet_id=record.packet_id,
            printer=printing.printer.info.device_id,
        )
        return view

    @router.get("/captures/{capture_id}", response_class=Response, **enrol)
    async def capture(capture_id: str) -> Response:
        found = engine.capture_for_review(capture_id)
        if found is None:
            raise ApiError(404, "capture_not_found", "no such capture")
        data, media_type = await browser_image(found)
        return Response(data, media_type=media_type, headers={"Cache-Control": "no-store"})

    return router


def applicant_router(engine: WorkflowEngine) -> APIRouter:
    """The applicant's own screen: public, read-only, no personal data (see the view)."""
    router = APIRouter(tags=["applicant"])

    @router.get("/api/applicant", **PUBLIC)
    async def applicant() -> ApplicantView:
        return engine.applicant_view()

    return router


def _user(request: Request) -> str:
    return login_of(request).username


def _jpeg(image: ImageU8, max_width: int) -> bytes:
    shown: Any = image
    if max_width and image.shape[1] > max_width:
        scale = max_width / image.shape[1]
        shown = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, buffer = cv2.imencode(".jpg", shown, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ApiError(500, "encode_failed", "cannot encode the image")
    return bytes(buffer)


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
