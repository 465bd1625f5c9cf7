"""Reading the document's chip, in the documents step, when the kiosk has a reader.

The access keys come from the MRZ read from the document photo (document number,
date of birth, date of expiry), so a document must be photographed first. The
read runs in a kept background task (a chip read takes seconds); the view shows
``reading`` and then the verdicts: passive authentication, active/chip
authentication, DG1 = printed MRZ, and the 1:1 match of the chip's portrait with
the live capture. A failed authenticity check or a non-match does not silently
fail: it needs a supervisor's decision (PIN and reason), recorded in the record
of operations, before "continue"; the chip's portrait can be shown beside the
live capture for that decision (memory only).
"""

from __future__ import annotations

import asyncio
import logging

import cv2

from appliance.capture.chip import ChipResult
from appliance.capture.errors import CaptureError
from appliance.documents.mrz_parse import MrzFormatError, parse
from appliance.workflow.context import WorkflowContext
from appliance.workflow.finger_step import SupervisorCheck
from appliance.workflow.operations import report
from appliance.workflow.state import Step, TransitionError
from appliance.workflow.view import ChipView, SupervisorDecisionView
from drivers.emrtd.mrz_key import MrzKeyInput

logger = logging.getLogger(__name__)

CHIP_TASK = "chip-read"
MAX_REASON = 200


class ChipStep:
    def __init__(self, ctx: WorkflowContext, confirm_supervisor: SupervisorCheck) -> None:
        self._ctx = ctx
        self._confirm = confirm_supervisor
        self.state = ChipView("idle")
        self._result: ChipResult | None = None

    @property
    def available(self) -> bool:
        return self._ctx.capture.chip is not None

    def reset(self) -> None:
        self.state = ChipView("idle")
        self._result = None

    @property
    def ready(self) -> bool:
        """Nothing stops "continue": not reading, and any failure decided and accepted."""
        if self.state.state == "reading":
            return False
        if not self.state.needs_decision:
            return True
        return self.state.decision is not None and self.state.decision.accepted

    async def read(self, mrz_lines: tuple[str, ...]) -> None:
        """Start reading the chip with the keys of the document's MRZ."""
        async with self._ctx.lock:
            record = self._ctx.require(Step.DOCUMENTS)
            if not self.available:
                raise TransitionError("chip.no_reader", "this kiosk has no document reader")
            if self._ctx.tasks.running(CHIP_TASK):
                raise TransitionError("chip.reading", "the chip is being read")
            key = _key_of(mrz_lines)
            self.state, self._result = ChipView("reading"), None
            self._ctx.tasks.start(
                CHIP_TASK, self._read(record.workflow_id, key, "".join(mrz_lines))
            )

    async def _read(self, workflow_id: str, key: MrzKeyInput, printed: str) -> None:
        try:
            result = await self._ctx.capture.read_chip(key, printed)
        except CaptureError as exc:
            self.state = ChipView("failed", error=exc.code)
            report(self._ctx.on_operation, "chip.read", workflow_id=workflow_id, error=exc.code)
            return
        except asyncio.CancelledError:
            self.state = ChipView("idle")
            raise
        except Exception:
            self.state = ChipView("failed", error="chip.failed")
            raise  # logged and shown by the engine's background-task handler
        verdict, match = result.verdict, result.match
        self._result = result
        self.state = ChipView(
            "done",
            pa="passed" if verdict.pa_passed else "failed",
            pa_reason=verdict.reason.value,
            active_auth=verdict.active_auth,
            chip_auth=verdict.chip_auth,
            dg1_matches_mrz=verdict.dg1_matches_mrz,
            match=None if match is None else ("match" if match.match else "no_match"),
            distance=None if match is None else round(match.distance, 4),
            threshold=None if match is None else match.threshold,
            match_error=result.match_error,
            needs_decision=result.needs_decision,
            portrait=result.portrait is not None,
        )
        report(
            self._ctx.on_operation,
            "chip.read",
            workflow_id=workflow_id,
            pa=self.state.pa,
            pa_reason=self.state.pa_reason,
            active_auth=self.state.active_auth,
            chip_auth=self.state.chip_auth,
            dg1_matches_mrz=self.state.dg1_matches_mrz,
            match=self.state.match,
            distance=self.state.distance,
            threshold=self.state.threshold,
        )

    async def decide(
        self, accepted: bool, operator: str, supervisor: str, pin: str, reason: str
    ) -> None:
        """A supervisor's decision on a chip that failed a check or a face that did not match."""
        reason = reason.strip()
        if not reason or len(reason) > MAX_REASON:
            raise TransitionError("chip.decision_reason", "give a reason (1-200 characters)")
        if not self.state.needs_decision:
            raise TransitionError("chip.no_decision_needed", "the chip check needs no decision")
        confirmed_by = await self._confirm(supervisor, pin, operator)
        async with self._ctx.lock:
            record = self._ctx.require(Step.DOCUMENTS)
            decision = SupervisorDecisionView(confirmed_by, reason, accepted)
            self.state = ChipView(**{**self.state.__dict__, "decision": decision})
            report(
                self._ctx.on_operation,
                "chip.decision",
                workflow_id=record.workflow_id,
                operator=operator,
                confirmed_by=confirmed_by,
                accepted=accepted,
                reason=reason,
            )

    def portrait_jpeg(self) -> bytes | None:
        """The chip's portrait for the side-by-side review (encoded in memory)."""
        portrait = self._result.portrait if self._result is not None else None
        if portrait is None:
            return None
        ok, buffer = cv2.imencode(".jpg", portrait.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        return bytes(buffer) if ok else None


def _key_of(lines: tuple[str, ...]) -> MrzKeyInput:
    try:
        record = parse(lines)
        return MrzKeyInput(record.document_number, record.birth_date, record.expiry_date)
    except (MrzFormatError, ValueError):
        raise TransitionError("chip.no_mrz_keys", "read the document's MRZ first") from None
