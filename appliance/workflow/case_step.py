"""The start step's case verification: who is this, may the enrolment start, the override.

1. :meth:`CaseStep.look_up` asks the case directory (central, or the day's list
   when central is unreachable) and keeps the answer for the start screen's panel.
2. :meth:`CaseStep.verify` is called by ``WorkflowEngine.start``: it reuses that
   answer if it is for the same reference and younger than
   ``cases.verification_max_age_s`` (else looks up again), and lets the
   enrolment start only if
   - the case was found open and the operator confirmed the applicant's identity
     against the document presented, or
   - the case was not found, is for another site, is closed or suspended, or
     cannot be verified, and a supervisor (another person, role supervisor)
     overrides with their PIN and a reason from :data:`OVERRIDE_REASONS`
     (recorded as ``case.override``: operator, confirmed_by, case_reference,
     reason, outcome);
   then it queues the check-in (when an appointment is known) and returns the
   :class:`CaseBinding` the workflow record keeps: the enrolment carries the
   verified case reference, not whatever was typed.

Without a case directory (a kiosk not provisioned, possible only under the demo
profile) ``allow_unverified`` lets enrolments start unverified, marked so.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from appliance.cases import CaseCheck, CaseDirectory, Outcome, RecordOperation, Source
from appliance.cases.service import AUDIT_OUTCOME
from appliance.config import ApplianceConfig
from appliance.workflow.case_view import CaseBinding, CaseView, OverrideView, check_view
from appliance.workflow.finger_step import SupervisorCheck
from appliance.workflow.state import TransitionError, WorkflowRecord

logger = logging.getLogger(__name__)

#: Why a supervisor may let an enrolment start on a case that did not verify.
OVERRIDE_REASONS = (
    "case_reopened",  # closed or suspended in central's data, reopened by AIMA
    "appointment_transferred",  # booked at another site, transferred here
    "data_not_yet_synchronised",  # a case or appointment created too recently
    "central_unreachable",  # no answer and no day list
    "aima_instruction",  # AIMA instructed the centre for this applicant
)


def _no_record(event: str, fields: dict[str, object]) -> None:
    pass


@dataclass(frozen=True)
class Override:
    supervisor: str
    pin: str
    reason: str


class CaseStep:
    def __init__(
        self,
        directory: CaseDirectory | None,
        confirm_supervisor: SupervisorCheck,
        *,
        max_age_s: float = 600.0,
        allow_unverified: bool = False,
        record_operation: RecordOperation = _no_record,
    ) -> None:
        self.directory = directory
        self._confirm = confirm_supervisor
        self._max_age_s = max_age_s
        self._allow_unverified = allow_unverified and directory is None
        self._record = record_operation
        self.pending: CaseCheck | None = None  # the last lookup, for the start screen
        self.bound: CaseCheck | None = None  # the case the enrolment in progress started on

    @classmethod
    def of(
        cls,
        config: ApplianceConfig,
        directory: CaseDirectory | None,
        confirm_supervisor: SupervisorCheck,
        allow_unverified: bool,
        record_operation: RecordOperation,
    ) -> CaseStep:
        """The start step as the composition root configures it."""
        return cls(
            directory,
            confirm_supervisor,
            max_age_s=config.cases.verification_max_age_s,
            allow_unverified=allow_unverified,
            record_operation=record_operation,
        )

    def reset(self) -> None:
        """The enrolment ended: forget the applicant's data."""
        self.pending = None
        self.bound = None

    def _today(self) -> tuple[datetime, datetime] | None:
        if self.directory is None:
            return None
        return self.directory.day_bounds(self.directory.today())

    async def look_up(self, reference: str, operator: str = "") -> CaseView:
        check = await self._check(reference, operator)
        self.pending = check
        return check_view(check, self._today())

    async def _check(self, reference: str, operator: str) -> CaseCheck:
        if self.directory is None:
            return CaseCheck(reference, Outcome.UNVERIFIABLE, Source.NONE)
        return await self.directory.lookup(reference, operator)

    async def verify(
        self,
        reference: str,
        operator: str,
        *,
        identity_confirmed: bool,
        override: Override | None,
    ) -> CaseBinding:
        """Decide whether an enrolment may start on ``reference`` (module docstring)."""
        check = self.pending
        fresh = check is not None and time.time() - check.checked_at <= self._max_age_s
        if check is None or check.reference != reference or not fresh:
            check = await self._check(reference, operator)
            self.pending = check
        if self.directory is None and self._allow_unverified:
            logger.warning("case not verified: this demo kiosk is not provisioned")
            self.bound = check
            return CaseBinding.of(check, None, None)
        if check.case is not None and not identity_confirmed:
            raise TransitionError(
                "case.confirm_identity", "confirm the applicant's identity against the document"
            )
        granted: OverrideView | None = None
        if check.blocking:
            if override is None:
                raise TransitionError(
                    f"case.{check.outcome.value}", "a supervisor must override", override=True
                )
            granted = await self._override(check, operator, override)
        directory = self.directory
        ticket = directory.check_in(check, operator) if directory is not None else None
        self.bound = check
        return CaseBinding.of(check, ticket.check_in_id if ticket else None, granted)

    async def _override(self, check: CaseCheck, operator: str, override: Override) -> OverrideView:
        if override.reason not in OVERRIDE_REASONS:
            raise TransitionError("case.bad_reason", "unknown override reason")
        supervisor = await self._confirm(override.supervisor, override.pin, operator)
        self._record(
            "case.override",
            {
                "operator": operator,
                "confirmed_by": supervisor,
                "case_reference": check.case.case_reference if check.case else check.reference,
                "reason": override.reason,
                "outcome": AUDIT_OUTCOME[check.outcome],
            },
        )
        logger.info("case %s overridden by a supervisor (%s)", check.outcome.value, override.reason)
        return OverrideView(supervisor, override.reason)

    def view(self, record: WorkflowRecord) -> CaseView | None:
        """The case of the enrolment in progress: full while in memory, the binding after."""
        binding = record.case_check
        if binding is None:
            return None
        stored = CaseBinding.from_json(binding)
        if self.bound is None:
            return stored.view()
        live = check_view(self.bound, self._today())
        return CaseView(
            reference=live.reference,
            outcome=live.outcome,
            source=live.source,
            blocking=False,
            case=live.case,
            override=stored.view().override,
        )
