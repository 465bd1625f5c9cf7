"""The enrolment workflow engine: drives one applicant through the steps of :mod:`.state`.

The engine owns the persisted record (non-biometric, see :mod:`.state`) and
an in-memory capture session holding the captures. Every step change is
written to disk before it is acknowledged; captures never are. The device
work reuses the appliance's own paths: the 4-4-2 flow of
:class:`appliance.finger.flow.TenPrintFlow` (per slap, so the screen shows
each slap's per-finger quality and retries), :func:`tenprint_items` for the
records, and a :class:`Sealer` (the web API's submit path) for sealing into
the outbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np

from appliance.capture_sessions import CaptureSession, CaptureSessions, SessionNotFound
from appliance.config.quality import FingerQualityThresholds
from appliance.devices import DeviceRole, DeviceSupervisor, DeviceUnavailable
from appliance.face.capture import FaceCaptureService, NoFaceFound
from appliance.finger.flow import (
    SEQUENCE,
    FingerException,
    SlapResult,
    TenPrintFlow,
    TenPrintResult,
    sequence_problems,
)
from appliance.finger.items import tenprint_items
from appliance.finger.records import MissingFinger
from appliance.workflow.documents import analyse_document_frame, rectify
from appliance.workflow.persist import WorkflowFile
from appliance.workflow.preview import Analyser, LivePreview
from appliance.workflow.qr import case_reference_from_payload, decode_qr
from appliance.workflow.state import (
    CANCELLABLE,
    CAPTURE_STEPS,
    LANGUAGES,
    MissingFingerRecord,
    Step,
    TransitionError,
    WorkflowRecord,
    check_transition,
)
from drivers.errors import DeviceError
from drivers.interfaces import SLAP_LAYOUT, CaptureKind, FingerPosition, Frame, ReaderEvent
from packet.manifest import uuid7

logger = logging.getLogger(__name__)

CONSENT_TEXT_VERSION = "2026-01"
DOCUMENT_KINDS = ("passport", "residence_permit", "id_card", "other")
MAX_DOCUMENTS = 4
AUTO_CAPTURE_FRAMES = 5  # consecutive good frames before the face is taken
FINGER_ITEM_TYPES = frozenset({"slap", "finger"})
FINGER_RECORD_NAMES = frozenset({"tenprint.an2", "fingers.iso19794-4"})
CONSENT_NAME = "consent.json"


class Sealer(Protocol):
    """Seals a capture session into the outbox under ``packet_id`` (blocking)."""

    def seal(
        self, session: CaptureSession, case_reference: str, operator_id: str, packet_id: str
    ) -> str: ...


@dataclass
class SlapProgress:
    """One slap of the 4-4-2 sequence, as the screen shows it (in memory)."""

    kind: CaptureKind
    status: str = "pending"  # pending | capturing | done | skipped | failed
    event: str | None = None
    error: str | None = None
    result: SlapResult | None = None

    def describe(self, missing: set[int]) -> dict[str, Any]:
        result = self.result
        layout = [int(p) for p in SLAP_LAYOUT[self.kind][1]]
        return {
            "kind": self.kind.value,
            "status": self.status,
            "event": self.event,
            "error": self.error,
            "positions": layout,
            "missing": [p for p in layout if p in missing],
            "accepted": bool(result and result.accepted),
            "attempts": result.attempts if result else 0,
            "reason": result.segmentation.reason if result else None,
            "fingers": [
                {
                    "position": int(p),
                    "nfiq2": a.nfiq2,
                    "accepted": a.accepted,
                    "feedback": a.feedback,
                }
                for p, _, a in (result.fingers if result else [])
            ],
        }


@dataclass
class _Runtime:
    """What exists only in memory for the current enrolment."""

    face_capture: str | None = None
    face_auto: bool = False
    face_rejected: list[str] = field(default_factory=list)
    good_frames: int = 0
    slaps: dict[CaptureKind, SlapProgress] = field(
        default_factory=lambda: {k: SlapProgress(k) for k in SEQUENCE}
    )
    slap_tasks: dict[CaptureKind, asyncio.Task[None]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    fingers_sealed: bool = False
    documents: list[dict[str, Any]] = field(default_factory=list)
    #: Records built in the background once every slap is in (key: the slaps they used).
    items_task: asyncio.Task[list[Any]] | None = None
    items_key: tuple[int, ...] = ()


class WorkflowEngine:
    """One enrolment at a time on this kiosk (see the module docstring)."""

    def __init__(
        self,
        store: WorkflowFile,
        supervisor: DeviceSupervisor,
        sessions: CaptureSessions,
        *,
        sealer: Sealer | None,
        packet_known: Callable[[str], bool],
        face_analyser: Analyser,
        finger_limits: FingerQualityThresholds,
        site_id: str,
        kiosk_name: str,
        default_language: str = "pt-PT",
        on_sealed: Callable[[], None] | None = None,
        face_service: FaceCaptureService | None = None,
        on_quality_reject: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._face_service = face_service
        self._on_reject = on_quality_reject or (lambda check: None)
        self._supervisor = supervisor
        self._sessions = sessions
        self._sealer = sealer
        self._packet_known = packet_known
        self._on_sealed = on_sealed
        self._limits = finger_limits
        self.site_id = site_id
        self.kiosk_name = kiosk_name
        self.default_language = default_language
        self._lock = asyncio.Lock()
        self._warm: asyncio.Task[None] | None = None
        self.record: WorkflowRecord | None = None
        self._rt = _Runtime()
        self.face_preview = LivePreview(
            lambda: supervisor.camera(DeviceRole.FACE_CAMERA),
            face_analyser,
            overlay="face",
            on_error=lambda exc: supervisor.report_failure(DeviceRole.FACE_CAMERA, exc),
        )
        self.face_preview.on_analysis = self._on_face_analysis
        self.document_preview = LivePreview(
            self._document_camera, analyse_document_frame, overlay="document"
        )

    # ------------------------------------------------------------ lifecycle

    def recover(self) -> None:
        """Read the record left by the previous run and bring it to a safe step."""
        record = self._store.load()
        if record is None:
            return
        packet = record.packet_id
        record.recover(packet_in_outbox=bool(packet and self._packet_known(packet)))
        if record.step is Step.DONE and record.receipt is None:
            record.receipt = self._receipt(record, {})
        self.record = record
        self._store.save(record)
        logger.info("workflow recovered at step %s", record.step.value)

    async def close(self) -> None:
        """Stop previews and captures; the in-memory captures are wiped."""
        await self.face_preview.close()
        await self.document_preview.close()
        await self._stop_slaps()
        if self.record is not None and self.record.capture_session_id:
            self._sessions.discard(self.record.capture_session_id)

    # ------------------------------------------------------------------ view

    def view(self) -> dict[str, Any]:
        record = self.record
        if record is None:
            return {"active": False, "step": None, "language": self.default_language}
        missing = {m.position for m in record.missing_fingers}
        rt = self._rt
        return {
            "active": True,
            "workflow_id": record.workflow_id,
            "step": record.step.value,
            "case_reference": record.case_reference,
            "operator": record.operator,
            "language": record.language,
            "notice": record.notice,
            "completed": list(record.completed),
            "consent": {
                "given": record.consent_at is not None,
                "language": record.consent_language,
            },
            "face": {
                "status": "captured" if rt.face_capture else "live",
                "capture_id": rt.face_capture,
                "auto": rt.face_auto,
                "prompts": self.face_preview.latest_analysis.get("prompts", []),
                "rejected": list(rt.face_rejected),
                "device_error": self.face_preview.error_key,
            },
            "fingers": {
                "slaps": [rt.slaps[k].describe(missing) for k in SEQUENCE],
                "exceptions": [
                    {
                        "position": m.position,
                        "reason": m.reason,
                        "declared_by": m.declared_by,
                        "confirmed_by": m.confirmed_by,
                    }
                    for m in record.missing_fingers
                ],
                "problems": list(rt.problems),
                "complete": self._slaps_complete(),
            },
            "documents": list(rt.documents),
            "receipt": record.receipt,
            "can_submit": record.step is Step.REVIEW and self._sealer is not None,
            "provisioned": self._sealer is not None,
        }

    # ----------------------------------------------------------------- steps

    async def start(self, case_reference: str, language: str, operator: str) -> None:
        async with self._lock:
            if self.record is not None and self.record.step not in (Step.DONE, Step.ABORTED):
                raise TransitionError("workflow.in_progress", "an enrolment is in progress")
            if self.record is not None:
                self._end()
            _check_language(language)
            session = self._sessions.create()
            record = WorkflowRecord(
                case_reference=case_reference, operator=operator, language=language
            )
            record.capture_session_id = session.session_id
            self._rt = _Runtime()
            self.record = record
            self._save()
            logger.info("enrolment %s started", record.workflow_id[:8])
            if self._warm is None:  # load NFIQ 2 while the applicant reads the consent
                self._warm = asyncio.create_task(asyncio.to_thread(_warm_up_finger_quality))

    async def scan_qr(self, timeout_s: float = 5.0) -> str | None:
        """Read frames until an appointment QR code with a case reference shows up."""
        deadline = time.monotonic() + timeout_s
        async with self.document_preview.viewer():
            last = -1
            while time.monotonic() < deadline:
                frame = self.document_preview.latest_frame
                if frame is None or frame.sequence == last:
                    await asyncio.sleep(0.03)
                    continue
                last = frame.sequence
                payload = await asyncio.to_thread(decode_qr, frame.image)
                reference = case_reference_from_payload(payload) if payload else None
                if reference is not None:
                    return reference
        return None

    async def set_language(self, language: str) -> None:
        _check_language(language)
        async with self._lock:
            if self.record is None:
                self.default_language = language
                return
            self.record.language = language
            self._save()

    async def consent(self, accepted: bool) -> None:
        async with self._lock:
            record = self._require(Step.CONSENT)
            if not accepted:
                await self._cancel_locked()
                return
            check_transition(record.step, Step.FACE)
            record.consent_at = time.time()
            record.consent_language = record.language
            record.complete(Step.CONSENT)
            record.step = Step.FACE
            self._save()

    def acknowledge_notice(self) -> None:
        if self.record is not None and self.record.notice is not None:
            self.record.notice = None
            self._save()

    # ------------------------------------------------------------------ face

    def _on_face_analysis(self, frame: Frame, analysis: dict[str, Any]) -> None:
        """Auto-capture: the face is taken after a run of good frames."""
        record = self.record
        if record is None or record.step is not Step.FACE or self._rt.face_capture:
            self._rt.good_frames = 0
            return
        if not analysis.get("ok", not analysis.get("prompts")):
            self._rt.good_frames = 0
            return
        self._rt.good_frames += 1
        if self._rt.good_frames >= AUTO_CAPTURE_FRAMES:
            self._rt.good_frames = 0
            asyncio.get_running_loop().create_task(self._take_face(frame, auto=True))

    async def capture_face(self) -> str:
        """The operator takes the photo now (from the preview's latest frame or the camera)."""
        self._require(Step.FACE)
        frame = self.face_preview.latest_frame
        if frame is None or time.monotonic() - frame.timestamp > 1.0:
            frame = await self._read(DeviceRole.FACE_CAMERA)
        return await self._take_face(frame, auto=False)

    async def _take_face(self, frame: Frame, *, auto: bool) -> str:
        async with self._lock:
            self._require(Step.FACE)
            if self._rt.face_capture is not None:
                return self._rt.face_capture
            if self._face_service is None:  # no face engine: the frame as it is
                jpeg = await asyncio.to_thread(_jpeg, frame.image, 92)
                height, width = frame.image.shape[:2]
                capture = self._session().add(
                    "face",
                    "image/jpeg",
                    jpeg,
                    name="face.jpg",
                    width=width,
                    height=height,
                    auto=int(auto),
                )
            else:
                capture_id = await self._take_face_item(frame, auto=auto)
                if capture_id is None:
                    return ""
                capture = self._session().captures[capture_id]
            self._rt.face_capture = capture.capture_id
            self._rt.face_auto = auto
            logger.info("face captured (%s)", "auto" if auto else "manual")
            return capture.capture_id

    async def _take_face_item(self, frame: Frame, *, auto: bool) -> str | None:
        """Full ICAO check, ISO/IEC 19794-5 token image, quality figures in the manifest.

        An auto-capture whose full check fails is not kept: the preview goes on and
        the failed checks show as prompts. The operator's manual capture is kept
        either way, with ``icao_compliant`` recording the verdict.
        """
        assert self._face_service is not None
        try:
            item = await asyncio.to_thread(self._face_service.item_from_frame, frame.image)
        except NoFaceFound:
            if auto:
                return None
            raise TransitionError("face.no_face", "no face in the picture") from None
        for check in item.report.failed:
            self._on_reject(check)
        if auto and not item.report.compliant:
            self._rt.good_frames = 0
            self._rt.face_rejected = item.prompts
            logger.info("auto-capture rejected by the full check: %s", ",".join(item.report.failed))
            return None
        self._rt.face_rejected = []
        ext = "jp2" if item.media_type == "image/jp2" else "jpg"
        capture = self._session().add(
            "face", item.media_type, item.data, name=f"face.{ext}", auto=int(auto), **item.metadata
        )
        return capture.capture_id

    async def retake_face(self) -> None:
        async with self._lock:
            self._require(Step.FACE)
            self._drop_capture(self._rt.face_capture)
            self._rt.face_capture = None
            self._rt.good_frames = 0

    async def accept_face(self) -> None:
        async with self._lock:
            record = self._require(Step.FACE)
            if self._rt.face_capture is None:
                raise TransitionError("face.not_captured", "take the photo first")
            record.complete(Step.FACE)
            self._advance(record, Step.FINGERPRINTS)

    # ----------------------------------------------------------- fingerprints

    async def capture_slap(self, kind: CaptureKind) -> None:
        """Start capturing one slap in the background; progress shows in :meth:`view`."""
        async with self._lock:
            record = self._require(Step.FINGERPRINTS)
            progress = self._rt.slaps[kind]
            if progress.status == "capturing":
                raise TransitionError("finger.capture_running", "this slap is being captured")
            if any(p.status == "capturing" for p in self._rt.slaps.values()):
                raise TransitionError("finger.reader_busy", "another slap is being captured")
            missing = self._missing_positions(record)
            present = [p for p in SLAP_LAYOUT[kind][1] if int(p) not in missing]
            self._rt.problems = []
            self._invalidate_finger_items()
            if not present:
                progress.status, progress.result, progress.error = "skipped", None, None
                return
            progress.status, progress.error, progress.event = "capturing", None, "finger.place"
            self._rt.slap_tasks[kind] = asyncio.create_task(
                self._run_slap(progress, frozenset(FingerPosition(p) for p in missing)),
                name=f"slap-{kind.value}",
            )

    async def _run_slap(self, progress: SlapProgress, missing: frozenset[FingerPosition]) -> None:
        def on_event(event: ReaderEvent) -> None:
            progress.event = event.message_key

        try:
            reader = self._supervisor.reader()
            flow = TenPrintFlow(reader, self._limits, on_event)
            result = await flow.capture_slap(progress.kind, missing)
        except DeviceUnavailable as exc:
            progress.status, progress.error = "failed", exc.message_key
            return
        except DeviceError as exc:
            self._supervisor.report_failure(DeviceRole.FINGERPRINT_READER, exc)
            progress.status, progress.error = "failed", exc.message_key
            return
        except asyncio.CancelledError:
            progress.status, progress.error = "pending", None
            raise
        progress.result = result
        progress.status = "done"
        progress.event = None
        if not result.accepted:
            progress.error = "finger.quality_too_low"
            if not result.segmentation.ok:
                self._on_reject("slap_segmentation")
            for _, _, assessment in result.fingers:
                if not assessment.accepted:
                    self._on_reject("nfiq2")
        if self._slaps_complete():
            self._rt.problems = await asyncio.to_thread(
                sequence_problems,
                {k: p.result for k, p in self._rt.slaps.items() if p.result is not None},
            )
            if not self._rt.problems and self.record is not None:
                # Build the WSQ and ANSI/NIST records now, while the operator checks the
                # screen: "continue" then has little left to do.
                tenprint = self._tenprint_result(self.record)
                self._rt.items_key = self._items_key(self.record)
                self._rt.items_task = asyncio.create_task(
                    asyncio.to_thread(tenprint_items, tenprint), name="tenprint-items"
                )

    async def declare_missing(
        self, position: int, reason: str, declared_by: str, confirmed_by: str
    ) -> None:
        """Record a missing finger; ``confirmed_by`` is a supervisor whose PIN was checked."""
        async with self._lock:
            record = self._require(Step.FINGERPRINTS)
            exception = FingerException(
                MissingFinger(FingerPosition(position), reason), declared_by, confirmed_by
            )
            try:
                exception.validate()
            except Exception as exc:
                raise TransitionError("finger.exception_not_confirmed", str(exc)) from None
            record.missing_fingers = [m for m in record.missing_fingers if m.position != position]
            record.missing_fingers.append(
                MissingFingerRecord(position, reason, declared_by, confirmed_by, time.time())
            )
            self._reset_slap_with(position)
            self._save()
            logger.info("missing-finger exception recorded with supervisor confirmation")

    async def remove_missing(self, position: int) -> None:
        async with self._lock:
            record = self._require(Step.FINGERPRINTS)
            record.missing_fingers = [m for m in record.missing_fingers if m.position != position]
            self._reset_slap_with(position)
            self._save()

    async def finish_fingerprints(self) -> None:
        """All slaps accepted and the sequence check passed: build the records, go on."""
        async with self._lock:
            record = self._require(Step.FINGERPRINTS)
            if not self._slaps_complete():
                raise TransitionError("finger.incomplete", "capture every slap first")
            if self._rt.problems:
                raise TransitionError(self._rt.problems[0].split(":")[0], "sequence check failed")
            if not self._rt.fingers_sealed:
                task = self._rt.items_task
                if task is not None and self._rt.items_key == self._items_key(record):
                    items = await task
                else:
                    items = await asyncio.to_thread(tenprint_items, self._tenprint_result(record))
                self._rt.items_task = None
                session = self._session()
                for name, item_type, media, data, quality in items:
                    session.add(item_type, media, data, name=name, **quality)
                self._rt.fingers_sealed = True
            record.complete(Step.FINGERPRINTS)
            self._advance(record, Step.DOCUMENTS)

    # -------------------------------------------------------------- documents

    async def capture_document(self, kind: str, timeout_s: float = 3.0) -> dict[str, Any]:
        """Take the document from the document camera, straightened when it is found."""
        if kind not in DOCUMENT_KINDS:
            raise TransitionError("document.bad_kind", f"unknown document kind {kind!r}")
        self._require(Step.DOCUMENTS)
        if len(self._rt.documents) >= MAX_DOCUMENTS:
            raise TransitionError("document.too_many", "no more documents for this enrolment")
        deadline = time.monotonic() + timeout_s
        rectified = None
        while True:
            frame = await self._read(self._document_role())
            rectified = await asyncio.to_thread(rectify, frame.image)
            if rectified.corrected or time.monotonic() > deadline:
                break
        jpeg = await asyncio.to_thread(_jpeg, rectified.image, 90)
        async with self._lock:
            self._require(Step.DOCUMENTS)
            number = len(self._rt.documents) + 1
            height, width = rectified.image.shape[:2]
            capture = self._session().add(
                "document",
                "image/jpeg",
                jpeg,
                name=f"document-{number}.jpg",
                document_kind=kind,
                corrected=int(rectified.corrected),
                format=rectified.format or "",
                width=width,
                height=height,
            )
            entry = {
                "capture_id": capture.capture_id,
                "kind": kind,
                "corrected": rectified.corrected,
                "format": rectified.format,
            }
            self._rt.documents.append(entry)
            return entry

    async def remove_document(self, capture_id: str) -> None:
        async with self._lock:
            self._require(Step.DOCUMENTS)
            before = len(self._rt.documents)
            self._rt.documents = [d for d in self._rt.documents if d["capture_id"] != capture_id]
            if len(self._rt.documents) == before:
                raise TransitionError("document.not_found", "no such document")
            self._drop_capture(capture_id)

    async def finish_documents(self) -> None:
        async with self._lock:
            record = self._require(Step.DOCUMENTS)
            if not self._rt.documents:
                raise TransitionError("document.none", "capture at least one document")
            record.complete(Step.DOCUMENTS)
            self._advance(record, Step.REVIEW)

    # ------------------------------------------------------- review and submit

    async def goto(self, step: Step) -> None:
        """Go back to a capture step (from review or a later capture step)."""
        async with self._lock:
            record = self._require(*CAPTURE_STEPS, Step.REVIEW)
            if step not in CAPTURE_STEPS:
                raise TransitionError("workflow.bad_transition", "only capture steps")
            check_transition(record.step, step)
            record.step = step
            self._save()

    async def submit(self, operator: str) -> dict[str, Any]:
        """Seal everything into the outbox; the record says ``submitting`` first."""
        async with self._lock:
            record = self._require(Step.REVIEW)
            if self._sealer is None:
                raise TransitionError("not_provisioned", "this kiosk is not provisioned")
            missing = [s for s in CAPTURE_STEPS if not record.is_complete(s)]
            if missing:
                raise TransitionError("workflow.incomplete", f"{missing[0].value} not complete")
            session = self._session()
            session.add(
                "record",
                "application/json",
                self._consent_json(record, operator),
                name=CONSENT_NAME,
            )
            summary = _summary(session, record)
            record.packet_id = uuid7()
            check_transition(record.step, Step.SUBMITTING)
            record.step = Step.SUBMITTING
            self._save()  # from here a crash is resolved by asking the outbox
            try:
                await asyncio.to_thread(
                    self._sealer.seal, session, record.case_reference, operator, record.packet_id
                )
            except Exception:
                if self._packet_known(record.packet_id):
                    logger.exception("sealing reported an error after the packet was queued")
                    return self._sealed(record, session, summary)
                # Nothing reached the outbox (it adds atomically): back to review, captures kept.
                record.step = Step.REVIEW
                record.packet_id = None
                for capture_id in [
                    c.capture_id
                    for c in session.captures.values()
                    if c.metadata.get("name") == CONSENT_NAME
                ]:
                    self._drop_capture(capture_id)
                self._save()
                raise
            return self._sealed(record, session, summary)

    def _sealed(
        self, record: WorkflowRecord, session: CaptureSession, summary: dict[str, int]
    ) -> dict[str, Any]:
        self._sessions.discard(session.session_id)  # the captures now exist only sealed
        record.capture_session_id = None
        receipt = self._receipt(record, summary)
        record.receipt = receipt
        record.step = Step.DONE
        self._rt = _Runtime()
        self._save()
        logger.info("enrolment %s sealed into the outbox", record.workflow_id[:8])
        if self._on_sealed is not None:
            self._on_sealed()  # wake the uplink
        return receipt

    async def finish(self) -> None:
        """After the receipt (or an abort notice): back to idle for the next applicant."""
        async with self._lock:
            self._require(Step.DONE, Step.ABORTED)
            self._end()

    async def cancel(self) -> None:
        async with self._lock:
            await self._cancel_locked()

    async def _cancel_locked(self) -> None:
        record = self.record
        if record is None:
            return
        if record.step not in CANCELLABLE:
            raise TransitionError("workflow.not_cancellable", "sealing cannot be interrupted")
        await self._stop_slaps()
        self._end()
        logger.info("enrolment cancelled; captures discarded")

    # --------------------------------------------------------------- helpers

    def capture_bytes(self, capture_id: str) -> tuple[bytes, str] | None:
        """A capture of the current enrolment, for the review screens (memory only)."""
        if self.record is None or self.record.capture_session_id is None:
            return None
        try:
            session = self._sessions.get(self.record.capture_session_id)
        except SessionNotFound:
            return None
        capture = session.captures.get(capture_id)
        if capture is None or capture.item_type not in ("face", "document"):
            return None
        if capture.media_type == "image/jp2":  # browsers do not show JPEG 2000
            return _jp2_as_jpeg(bytes(capture.data)), "image/jpeg"
        return bytes(capture.data), capture.media_type

    def _end(self) -> None:
        if self.record is not None and self.record.capture_session_id:
            self._sessions.discard(self.record.capture_session_id)
        self.record = None
        self._rt = _Runtime()
        self._store.clear()

    async def _stop_slaps(self) -> None:
        tasks = [t for t in self._rt.slap_tasks.values() if not t.done()]
        if tasks:
            try:
                await self._supervisor.reader().cancel()
            except (DeviceUnavailable, DeviceError):
                pass
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._rt.slap_tasks.clear()

    def _require(self, *steps: Step) -> WorkflowRecord:
        if self.record is None:
            raise TransitionError("workflow.none", "no enrolment in progress")
        if steps and self.record.step not in steps:
            raise TransitionError(
                "workflow.wrong_step", f"the enrolment is at {self.record.step.value}"
            )
        return self.record

    def _advance(self, record: WorkflowRecord, step: Step) -> None:
        check_transition(record.step, step)
        # Skip forward over steps already complete (after going back from review).
        while step in CAPTURE_STEPS and record.is_complete(step) and step in TRANSITIONS_NEXT:
            step = TRANSITIONS_NEXT[step]
        record.step = step
        self._save()

    def _save(self) -> None:
        assert self.record is not None
        self.record.updated_at = time.time()
        self._store.save(self.record)

    def _session(self) -> CaptureSession:
        record = self._require()
        if record.capture_session_id is None:
            record.capture_session_id = self._sessions.create().session_id
            self._save()
        try:
            return self._sessions.get(record.capture_session_id)
        except SessionNotFound:
            raise TransitionError(
                "workflow.captures_expired", "the captures expired: cancel and start again"
            ) from None

    def _drop_capture(self, capture_id: str | None) -> None:
        if capture_id is None:
            return
        capture = self._session().captures.pop(capture_id, None)
        if capture is not None:
            capture.wipe()

    def _invalidate_finger_items(self) -> None:
        if not self._rt.fingers_sealed:
            return
        session = self._session()
        for capture_id in [
            c.capture_id
            for c in session.captures.values()
            if c.item_type in FINGER_ITEM_TYPES or c.metadata.get("name") in FINGER_RECORD_NAMES
        ]:
            self._drop_capture(capture_id)
        self._rt.fingers_sealed = False
        if self.record is not None and Step.FINGERPRINTS.value in self.record.completed:
            self.record.completed.remove(Step.FINGERPRINTS.value)

    def _tenprint_result(self, record: WorkflowRecord) -> TenPrintResult:
        slaps = {k: p.result for k, p in self._rt.slaps.items() if p.result is not None}
        exceptions = [
            FingerException(
                MissingFinger(FingerPosition(m.position), m.reason), m.declared_by, m.confirmed_by
            )
            for m in record.missing_fingers
        ]
        return TenPrintResult(slaps, exceptions)

    def _items_key(self, record: WorkflowRecord) -> tuple[int, ...]:
        """Identity of the slaps and exceptions a set of records was built from."""
        return (
            *(id(p.result) for p in self._rt.slaps.values()),
            *sorted(m.position for m in record.missing_fingers),
        )

    def _reset_slap_with(self, position: int) -> None:
        for kind, (_, layout) in SLAP_LAYOUT.items():
            if kind in self._rt.slaps and position in [int(p) for p in layout]:
                self._rt.slaps[kind] = SlapProgress(kind)
        self._rt.problems = []
        self._invalidate_finger_items()

    def _slaps_complete(self) -> bool:
        return all(
            p.status == "skipped" or (p.status == "done" and p.result and p.result.accepted)
            for p in self._rt.slaps.values()
        )

    @staticmethod
    def _missing_positions(record: WorkflowRecord) -> set[int]:
        return {m.position for m in record.missing_fingers}

    def _document_role(self) -> DeviceRole:
        roles = {s.role for s in self._supervisor.statuses()}
        if DeviceRole.DOCUMENT_CAMERA in roles:
            return DeviceRole.DOCUMENT_CAMERA
        return DeviceRole.FACE_CAMERA

    def _document_camera(self) -> Any:
        return self._supervisor.camera(self._document_role())

    async def _read(self, role: DeviceRole) -> Frame:
        try:
            return await self._supervisor.camera(role).read_frame()
        except DeviceUnavailable as exc:
            raise TransitionError(exc.message_key, str(exc)) from None
        except DeviceError as exc:
            self._supervisor.report_failure(role, exc)
            raise TransitionError(exc.message_key, exc.detail) from None

    def _consent_json(self, record: WorkflowRecord, operator: str) -> bytes:
        return json.dumps(
            {
                "consent_given_at": record.consent_at,
                "language": record.consent_language,
                "text_version": CONSENT_TEXT_VERSION,
                "recorded_by": operator,
                "missing_fingers": [
                    {
                        "position": m.position,
                        "reason": m.reason,
                        "declared_by": m.declared_by,
                        "confirmed_by": m.confirmed_by,
                    }
                    for m in record.missing_fingers
                ],
            },
            sort_keys=True,
        ).encode()

    def _receipt(self, record: WorkflowRecord, summary: dict[str, int]) -> dict[str, Any]:
        return {
            "case_reference": record.case_reference,
            "packet_id": record.packet_id,
            "submitted_at": time.strftime("%Y-%m-%d %H:%M", time.localtime()),
            "site_id": self.site_id,
            "kiosk": self.kiosk_name,
            "language": record.language,
            "items": summary,
        }


TRANSITIONS_NEXT = {
    Step.FACE: Step.FINGERPRINTS,
    Step.FINGERPRINTS: Step.DOCUMENTS,
    Step.DOCUMENTS: Step.REVIEW,
}


def _warm_up_finger_quality() -> None:
    """Load NFIQ 2's model once (the first assessment costs ~0.6 s more than the rest)."""
    import numpy as np

    from appliance.finger.quality import assess_finger

    y, x = np.mgrid[0:400, 0:300]
    ridges = (127 + 100 * np.sin(x / 4.0 + np.sin(y / 40.0) * 3)).astype(np.uint8)
    try:
        assess_finger(ridges, FingerQualityThresholds())
    except Exception:  # a warm-up must never break an enrolment
        logger.debug("finger quality warm-up failed", exc_info=True)


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise TransitionError("workflow.bad_language", f"unsupported language {language!r}")


def _jpeg(image: Any, quality: int) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("cannot encode JPEG")
    return bytes(buffer)


def _summary(session: CaptureSession, record: WorkflowRecord) -> dict[str, int]:
    """Counts for the receipt: what was captured, never the captures themselves."""
    types = [c.item_type for c in session.captures.values()]
    fingers = sum(1 for c in session.captures.values() if c.item_type == "finger")
    return {
        "face": types.count("face"),
        "fingers": fingers,
        "missing_fingers": len(record.missing_fingers),
        "documents": types.count("document"),
    }


def _jp2_as_jpeg(data: bytes) -> bytes:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return b""
    return _jpeg(image, 90)
