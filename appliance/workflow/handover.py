"""Logging out mid-enrolment, and the next user's choice: resume or discard.

An enrolment belongs to the operator who started it. Logging out in the middle
*pauses* it: running captures stop, the applicant's captures stay in memory,
the record says ``paused``. The next user to log in is asked:

- **resume**: allowed to a user of the same role as the one who started it; the
  enrolment is now theirs (reported as ``enrolment.taken_over``);
- **discard**: anyone enrolling may; when captures exist a supervisor's PIN is
  needed, from another person than the operator who started it (the same check
  as a missing finger, :mod:`.supervisor`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from appliance.workflow.finger_step import FingerStep, SupervisorCheck
from appliance.workflow.operations import OnOperation, report
from appliance.workflow.state import Step, TransitionError, WorkflowRecord

logger = logging.getLogger(__name__)


class HandoverContext(Protocol):
    lock: asyncio.Lock
    on_operation: OnOperation
    fingers: FingerStep

    @property
    def record(self) -> WorkflowRecord | None: ...

    @property
    def has_captures(self) -> bool: ...

    def save(self) -> None: ...

    async def end_locked(self) -> None: ...


class Handover:
    def __init__(self, ctx: HandoverContext, confirm_supervisor: SupervisorCheck) -> None:
        self._ctx = ctx
        self._confirm = confirm_supervisor

    def _record(self) -> WorkflowRecord:
        record = self._ctx.record
        if record is None:
            raise TransitionError("workflow.none", "no enrolment in progress")
        return record

    async def pause(self, operator: str) -> None:
        """The operator logs out mid-enrolment: stop captures, keep the rest, mark it."""
        async with self._ctx.lock:
            record = self._record()
            if record.operator != operator:
                raise TransitionError("workflow.other_operator", "not your enrolment")
            await self._ctx.fingers.stop()
            record.paused = True
            self._ctx.save()
            report(
                self._ctx.on_operation,
                "enrolment.paused",
                workflow_id=record.workflow_id,
                operator=operator,
                step=record.step.value,
            )

    async def resume(self, user: str, role: str) -> None:
        """Take the enrolment over (same role as its operator), or pick up one's own."""
        async with self._ctx.lock:
            record = self._record()
            previous = record.operator
            if previous != user and role != record.operator_role:
                raise TransitionError(
                    "workflow.resume_other_role",
                    "only a user of the same role can resume this enrolment",
                )
            record.operator, record.operator_role, record.paused = user, role, False
            self._ctx.save()
            if previous != user:
                report(
                    self._ctx.on_operation,
                    "enrolment.taken_over",
                    workflow_id=record.workflow_id,
                    operator=user,
                    previous=previous,
                    step=record.step.value,
                )
                logger.info("enrolment %s taken over by another user", record.workflow_id[:8])

    async def discard(self, user: str, supervisor: str | None, pin: str | None) -> None:
        """Throw the enrolment away; with captures, a supervisor confirms it."""
        record = self._record()
        if record.step is Step.SUBMITTING:
            raise TransitionError("workflow.not_cancellable", "sealing cannot be interrupted")
        confirmed_by = None
        if self._ctx.has_captures:
            if not supervisor or not pin:
                raise TransitionError(
                    "workflow.discard_needs_supervisor", "a supervisor's PIN is needed"
                )
            confirmed_by = await self._confirm(supervisor, pin, record.operator)
        async with self._ctx.lock:
            if self._ctx.record is not record:
                raise TransitionError("workflow.none", "the enrolment changed meanwhile")
            report(
                self._ctx.on_operation,
                "enrolment.discarded",
                workflow_id=record.workflow_id,
                operator=user,
                previous=record.operator,
                step=record.step.value,
                had_captures=self._ctx.has_captures,
                confirmed_by=confirmed_by,
            )
            await self._ctx.end_locked()
            logger.info("enrolment discarded at handover")
