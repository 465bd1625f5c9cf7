"""The document step, and the appointment QR code read before an enrolment starts.

Both use the document camera (the face camera when the kiosk has none) through
one live preview whose analysis outlines the document it finds.
"""

from __future__ import annotations

import asyncio
import time

from appliance.capture.errors import CaptureError
from appliance.workflow.context import WorkflowContext
from appliance.workflow.preview import LivePreview
from appliance.workflow.state import Step, TransitionError
from appliance.workflow.view import DocumentView

MAX_DOCUMENTS = 4
QR_POLL_S = 0.03


class DocumentStep:
    def __init__(self, ctx: WorkflowContext) -> None:
        self._ctx = ctx
        devices = ctx.capture.devices
        self.preview = LivePreview(
            lambda: devices.camera(devices.document_role()),
            ctx.capture.documents.analyse,
            overlay="document",
            on_error=lambda exc: devices.failed(devices.document_role(), exc),
        )
        self.documents: list[DocumentView] = []

    def reset(self) -> None:
        self.documents = []

    async def scan_qr(self, timeout_s: float) -> str | None:
        """Read frames until an appointment QR code with a case reference shows up."""
        deadline = time.monotonic() + timeout_s
        async with self.preview.viewer():
            last = -1
            while time.monotonic() < deadline:
                frame = self.preview.latest_frame
                if frame is None or frame.sequence == last:
                    await asyncio.sleep(QR_POLL_S)
                    continue
                last = frame.sequence
                reference = await self._ctx.capture.documents.case_reference_in(frame.image)
                if reference is not None:
                    return reference
        return None

    async def capture(self, kind: str, timeout_s: float = 3.0) -> None:
        """Take the document, straightened when it is found."""
        async with self._ctx.lock:
            self._ctx.require(Step.DOCUMENTS)
            if len(self.documents) >= MAX_DOCUMENTS:
                raise TransitionError("document.too_many", "no more documents for this enrolment")
            try:
                result = await self._ctx.capture.take_document(
                    kind, len(self.documents) + 1, timeout_s
                )
            except CaptureError as exc:
                raise TransitionError(exc.code, str(exc)) from None
            self.documents.append(
                DocumentView(result.capture.capture_id, kind, result.corrected, result.format)
            )

    async def remove(self, capture_id: str) -> None:
        async with self._ctx.lock:
            self._ctx.require(Step.DOCUMENTS)
            kept = [d for d in self.documents if d.capture_id != capture_id]
            if len(kept) == len(self.documents):
                raise TransitionError("document.not_found", "no such document")
            self.documents = kept
            self._ctx.capture.drop(capture_id)

    async def finish(self) -> None:
        async with self._ctx.lock:
            record = self._ctx.require(Step.DOCUMENTS)
            if not self.documents:
                raise TransitionError("document.none", "capture at least one document")
            record.complete(Step.DOCUMENTS)
            self._ctx.advance(record, Step.REVIEW)
