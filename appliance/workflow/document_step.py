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

Taking a document answers as soon as the photo is kept (tens of milliseconds);
its MRZ is read by a kept background task (most of a second), one document at
a time, while the preview's guidance waits. The document shows ``reading``
until its verdict is in. "Continue" and the chip read wait for reads still
running; removing a document stops its read. A read that fails unexpectedly
shows the document as unreadable (the photo is kept; the operator can retake).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from appliance.capture.documents import DocumentPhoto
from appliance.capture.errors import CaptureError
from appliance.documents.mrz_compare import compare
from appliance.documents.mrz_reader import MrzResult
from appliance.workflow.context import WorkflowContext
from appliance.workflow.finger_step import SupervisorCheck
from appliance.workflow.operations import report
from appliance.workflow.preview import LivePreview
from appliance.workflow.state import Step, TransitionError, WorkflowRecord
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


def read_task_name(capture_id: str) -> str:
    return f"document-mrz-{capture_id}"


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
        self._one_read = asyncio.Lock()  # one MRZ read at a time: each takes a core

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
        """Take the document (straightened when found); its MRZ is read in the background."""
        async with self._ctx.lock:
            record = self._ctx.require(Step.DOCUMENTS)
            if len(self.documents) >= MAX_DOCUMENTS:
                raise TransitionError("document.too_many", "no more documents for this enrolment")
            try:
                photo = await self._ctx.capture.take_document(
                    kind, len(self.documents) + 1, timeout_s
                )
            except CaptureError as exc:
                raise TransitionError(exc.code, str(exc)) from None
            capture_id = photo.capture.capture_id
            self.documents.append(
                DocumentView(capture_id, kind, photo.corrected, photo.format, reading=True)
            )
            _reopen(record)
            self._ctx.tasks.start(read_task_name(capture_id), self._read(photo, record.workflow_id))

    async def _read(self, photo: DocumentPhoto, workflow_id: str) -> None:
        """Read and check one photo's MRZ, then show the verdict (a kept background task)."""
        capture_id = photo.capture.capture_id
        try:
            async with self._one_read, self.preview.analysis_paused():
                # The guidance on the preview (the text detector, a core) waits for the read.
                mrz = await self._ctx.capture.read_document(photo)
        except Exception:
            failed = MrzView("unreadable", [], 0.0, None, "read_failed")
            self._replace(capture_id, lambda view: replace(view, mrz=failed, reading=False))
            raise  # logged and shown by the engine's background-task handler
        if mrz is None:  # this kiosk reads no MRZ
            self._replace(capture_id, lambda view: replace(view, reading=False))
            return
        checked = self._replace(
            capture_id, lambda view: replace(self._checked(view, mrz), reading=False)
        )
        if checked is not None:  # not removed meanwhile
            self.readings[capture_id] = mrz
            report(
                self._ctx.on_operation,
                "document.checked",
                workflow_id=workflow_id,
                kind=checked.kind,
                verdict=mrz.verdict,
                failed=list(mrz.failed_checks),
                mismatches=[m.field for m in checked.mismatches],
            )

    def _replace(
        self, capture_id: str, change: Callable[[DocumentView], DocumentView]
    ) -> DocumentView | None:
        """The document's view changed (None if it was removed meanwhile)."""
        for index, view in enumerate(self.documents):
            if view.capture_id == capture_id:
                self.documents[index] = change(view)
                return self.documents[index]
        return None

    async def settled(self) -> None:
        """Wait for the MRZ reads still running (a failed one has shown as unreadable)."""
        for view in list(self.documents):
            task = self._ctx.tasks.task(read_task_name(view.capture_id))
            if task is not None and not task.done():
                await asyncio.gather(asyncio.shield(task), return_exceptions=True)

    async def stop(self) -> None:
        """Stop every MRZ read (the enrolment ends)."""
        for view in list(self.documents):
            await self._ctx.tasks.cancel(read_task_name(view.capture_id))

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

    async def latest_mrz_lines(self) -> tuple[str, ...]:
        """The MRZ lines of the last document read (the chip's access keys come from them),
        once the reads still running are done."""
        await self.settled()
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
            record = self._ctx.require(Step.DOCUMENTS)
            kept = [d for d in self.documents if d.capture_id != capture_id]
            if len(kept) == len(self.documents):
                raise TransitionError("document.not_found", "no such document")
            await self._ctx.tasks.cancel(read_task_name(capture_id))
            self.documents = kept
            _reopen(record)
            self.readings.pop(capture_id, None)
            self._ctx.capture.drop(capture_id)

    async def finish(self, chip_ready: bool = True) -> None:
        async with self._ctx.lock:
            record = self._ctx.require(Step.DOCUMENTS)
            await self.settled()
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


def _reopen(record: WorkflowRecord) -> None:
    """The documents changed: "continue" must check them again (their reads done, none
    waiting for a supervisor) before a later step can skip past this one."""
    if Step.DOCUMENTS.value in record.completed:
        record.completed.remove(Step.DOCUMENTS.value)
