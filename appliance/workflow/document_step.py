"""The document step, and the appointment QR code read before an enrolment starts.

Both use the document camera (the face camera when the kiosk has none) through
one live preview; at the documents step its analysis outlines the document and
says what to fix for its machine-readable zone (a QR scan needs neither). Each
document photo's MRZ is read and checked by the capture service and compared
with the verified case (name, date of birth, nationality, document number). A
failed check digit, an expired document or a mismatch with the case blocks
"continue" until a supervisor confirms it with their PIN and a reason; the
verdict (and the confirmation) go to the record of operations. The chip of the
document is read by :mod:`.chip_step`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from appliance.capture.errors import CaptureError
from appliance.documents.mrz_compare import compare
from appliance.documents.mrz_reader import MrzResult
from appliance.workflow.context import WorkflowContext
from appliance.workflow.finger_step import SupervisorCheck
from appliance.workflow.operations import report
from appliance.workflow.preview import LivePreview
from appliance.workflow.state import Step, TransitionError
from appliance.workflow.view import (
    DocumentView,
    MismatchView,
    MrzView,
    SupervisorDecisionView,
)
from drivers.interfaces import ImageU8

MAX_DOCUMENTS = 4
QR_POLL_S = 0.03
BLOCKING_VERDICTS = frozenset({"check_digit", "expired"})
MAX_REASON = 200


class DocumentStep:
    def __init__(self, ctx: WorkflowContext, confirm_supervisor: SupervisorCheck) -> None:
        self._ctx = ctx
        self._confirm = confirm_supervisor
        devices = ctx.capture.devices
        self.preview = LivePreview(
            lambda: devices.camera(devices.document_role()),
            self._analyse,
            overlay="document",
            on_error=lambda exc: devices.failed(devices.document_role(), exc),
        )
        self.documents: list[DocumentView] = []
        #: The MRZ results behind the views (memory only), for the chip's access keys.
        self.readings: dict[str, MrzResult] = {}

    def reset(self) -> None:
        self.documents = []
        self.readings = {}

    def _analyse(self, image: ImageU8) -> dict[str, Any]:
        """The preview's outline and MRZ guidance, at the documents step only: a QR scan
        before an enrolment needs neither, and the text detector costs a core."""
        record = self._ctx.record
        if record is None or record.step is not Step.DOCUMENTS:
            return {}
        return self._ctx.capture.documents.analyse(image)

    @property
    def blocked(self) -> bool:
        return any(d.blocking and d.override is None for d in self.documents)

    async def scan_qr(self, timeout_s: float) -> str | None:
        """Read frames until an appointment QR code with a case reference shows up.

        Only frames the camera took after the scan began: a frame the running
        preview already holds shows the counter before the operator pressed scan.
        """
        started = time.monotonic()
        deadline = started + timeout_s
        async with self.preview.viewer():
            last = -1
            while time.monotonic() < deadline:
                frame = self.preview.latest_frame
                if frame is None or frame.sequence == last or frame.timestamp < started:
                    await asyncio.sleep(QR_POLL_S)
                    continue
                last = frame.sequence
                reference = await self._ctx.capture.documents.case_reference_in(frame.image)
                if reference is not None:
                    return reference
        return None

    async def capture(self, kind: str, timeout_s: float = 3.0) -> None:
        """Take the document (straightened when found), read and check its MRZ."""
        async with self._ctx.lock:
            record = self._ctx.require(Step.DOCUMENTS)
            if len(self.documents) >= MAX_DOCUMENTS:
                raise TransitionError("document.too_many", "no more documents for this enrolment")
            try:
                # The guidance on the preview (the text detector, a core) waits for the read.
                async with self.preview.analysis_paused():
                    result = await self._ctx.capture.take_document(
                        kind, len(self.documents) + 1, timeout_s
                    )
            except CaptureError as exc:
                raise TransitionError(exc.code, str(exc)) from None
            view = DocumentView(result.capture.capture_id, kind, result.corrected, result.format)
            if result.mrz is not None:
                self.readings[view.capture_id] = result.mrz
                view = self._checked(view, result.mrz)
                report(
                    self._ctx.on_operation,
                    "document.checked",
                    workflow_id=record.workflow_id,
                    kind=kind,
                    verdict=result.mrz.verdict,
                    failed=list(result.mrz.failed_checks),
                    mismatches=[m.field for m in view.mismatches],
                )
            self.documents.append(view)

    def _checked(self, view: DocumentView, mrz: MrzResult) -> DocumentView:
        readable = mrz.record is not None and mrz.verdict != "unreadable"
        mismatches: list[MismatchView] = []
        case = self._ctx.case_data()
        if readable and mrz.record is not None and case is not None:
            mismatches = [MismatchView(m.field, m.mrz, m.case) for m in compare(mrz.record, case)]
        fields = mrz.record.fields_json() if readable and mrz.record is not None else None
        return replace(
            view,
            mrz=MrzView(
                mrz.verdict, list(mrz.failed_checks), round(mrz.confidence, 3), fields, mrz.reason
            ),
            mismatches=mismatches,
            blocking=mrz.verdict in BLOCKING_VERDICTS or bool(mismatches),
        )

    async def override(
        self, capture_id: str, operator: str, supervisor: str, pin: str, reason: str
    ) -> None:
        """A supervisor confirms a document that failed its checks or disagrees with the case."""
        reason = reason.strip()
        if not reason or len(reason) > MAX_REASON:
            raise TransitionError("document.override_reason", "give a reason (1-200 characters)")
        view = self._find(capture_id)
        if not view.blocking:
            raise TransitionError("document.not_blocked", "this document needs no override")
        confirmed_by = await self._confirm(supervisor, pin, operator)
        async with self._ctx.lock:
            record = self._ctx.require(Step.DOCUMENTS)
            view = self._find(capture_id)
            decided = replace(view, override=SupervisorDecisionView(confirmed_by, reason))
            self.documents = [decided if d.capture_id == capture_id else d for d in self.documents]
            report(
                self._ctx.on_operation,
                "document.override",
                workflow_id=record.workflow_id,
                operator=operator,
                confirmed_by=confirmed_by,
                reason=reason,
                verdict=view.mrz.verdict if view.mrz else None,
                mismatches=[m.field for m in view.mismatches],
            )

    def latest_mrz_lines(self) -> tuple[str, ...]:
        """The MRZ lines of the last document read (the chip's access keys come from them)."""
        for view in reversed(self.documents):
            reading = self.readings.get(view.capture_id)
            if reading is not None and reading.record is not None:
                if reading.verdict != "unreadable":
                    return reading.record.lines
        raise TransitionError("chip.no_mrz_keys", "photograph the document's MRZ first")

    def _find(self, capture_id: str) -> DocumentView:
        for view in self.documents:
            if view.capture_id == capture_id:
                return view
        raise TransitionError("document.not_found", "no such document")

    async def remove(self, capture_id: str) -> None:
        async with self._ctx.lock:
            self._ctx.require(Step.DOCUMENTS)
            kept = [d for d in self.documents if d.capture_id != capture_id]
            if len(kept) == len(self.documents):
                raise TransitionError("document.not_found", "no such document")
            self.documents = kept
            self.readings.pop(capture_id, None)
            self._ctx.capture.drop(capture_id)

    async def finish(self, chip_ready: bool = True) -> None:
        async with self._ctx.lock:
            record = self._ctx.require(Step.DOCUMENTS)
            if not self.documents:
                raise TransitionError("document.none", "capture at least one document")
            if self.blocked:
                raise TransitionError(
                    "document.needs_supervisor", "a document needs a supervisor's confirmation"
                )
            if not chip_ready:
                raise TransitionError(
                    "chip.needs_decision", "the chip check needs a supervisor's decision"
                )
            record.complete(Step.DOCUMENTS)
            self._ctx.advance(record, Step.REVIEW)
