"""Submitting: the consent record, background sealing with its outcome, and the receipt.

``submit`` answers at once: the record says ``submitting`` (with the packet id)
before the seal starts, so a crash is resolved by asking the outbox. The seal
runs in a kept background task; when it is in the outbox the enrolment is
``done`` with a receipt. When it fails and nothing reached the outbox (the
outbox adds packets atomically), the enrolment goes back to review with the
captures kept and the failure shown, so the operator can try again.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from appliance.capture.errors import CaptureError
from appliance.capture.sealing import SealRequest
from appliance.workflow.context import WorkflowContext
from appliance.workflow.operations import report
from appliance.workflow.state import (
    CAPTURE_STEPS,
    Step,
    TransitionError,
    WorkflowRecord,
    check_transition,
)
from appliance.workflow.view import SealingView
from packet.manifest import uuid7

logger = logging.getLogger(__name__)

CONSENT_TEXT_VERSION = "2026-01"
CONSENT_NAME = "consent.json"
SEAL_TASK = "seal"


class SubmitStep:
    def __init__(
        self, ctx: WorkflowContext, site_id: str, kiosk_name: str, municipality: str
    ) -> None:
        self._ctx = ctx
        self._site_id = site_id
        self._kiosk_name = kiosk_name
        self._municipality = municipality
        self.sealing = SealingView("idle")

    def reset(self) -> None:
        self.sealing = SealingView("idle")

    async def submit(self, operator: str) -> None:
        async with self._ctx.lock:
            record = self._ctx.require(Step.REVIEW)
            if not self._ctx.capture.provisioned:
                raise TransitionError("not_provisioned", "this kiosk is not provisioned")
            missing = [s for s in CAPTURE_STEPS if not record.is_complete(s)]
            if missing:
                raise TransitionError("workflow.incomplete", f"{missing[0].value} not complete")
            self._ctx.capture.add_record(CONSENT_NAME, consent_json(record, operator))
            record.packet_id = uuid7()
            check_transition(record.step, Step.SUBMITTING)
            record.step = Step.SUBMITTING
            self._ctx.save()  # from here a crash is resolved by asking the outbox
            self.sealing = SealingView("sealing")
            request = SealRequest(
                record.packet_id, record.case_reference, operator, record.created_at
            )
            self._ctx.tasks.start(SEAL_TASK, self._seal(record, request))
            report(
                self._ctx.on_operation,
                "enrolment.submitted",
                workflow_id=record.workflow_id,
                operator=operator,
                packet_id=record.packet_id,
            )

    async def _seal(self, record: WorkflowRecord, request: SealRequest) -> None:
        try:
            sealed = await self._ctx.capture.seal(request)
        except Exception as exc:
            code = exc.code if isinstance(exc, CaptureError) else "seal.failed"
            if not isinstance(exc, CaptureError):
                logger.error("sealing failed", exc_info=exc)
            async with self._ctx.lock:
                if self._ctx.capture.packet_known(request.packet_id):
                    logger.error("sealing reported an error after the packet was queued")
                    self._done(record, {})
                    return
                # Nothing reached the outbox: back to review, captures kept, failure shown.
                record.step = Step.REVIEW
                record.packet_id = None
                if self._ctx.capture.active:
                    self._ctx.capture.current.drop_where(names=frozenset({CONSENT_NAME}))
                self.sealing = SealingView("failed", code)
                self._ctx.save()
            return
        async with self._ctx.lock:
            self._done(record, sealed.counts)

    def _done(self, record: WorkflowRecord, counts: dict[str, int]) -> None:
        self._ctx.capture.end()  # the captures now exist only sealed
        record.receipt = self.receipt(record, counts)
        record.step = Step.DONE
        self.sealing = SealingView("sealed")
        self._ctx.save()
        logger.info("enrolment %s sealed into the outbox", record.workflow_id[:8])

    def receipt(self, record: WorkflowRecord, counts: dict[str, int]) -> dict[str, Any]:
        """Counts for the applicant's receipt: what was captured, never the captures."""
        return {
            "case_reference": record.case_reference,
            "packet_id": record.packet_id,
            "submitted_at": time.strftime("%Y-%m-%d %H:%M", time.localtime()),
            "site_id": self._site_id,
            "municipality": self._municipality,
            "kiosk": self._kiosk_name,
            "language": record.language,
            "items": {
                "face": counts.get("face", 0),
                "fingers": counts.get("finger", 0),
                "missing_fingers": len(record.missing_fingers),
                "documents": counts.get("document", 0),
            },
        }


def consent_json(record: WorkflowRecord, operator: str) -> bytes:
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
