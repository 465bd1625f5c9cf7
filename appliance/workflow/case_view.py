"""What the start screen's case panel and the enrolment header show of the verified case.

The applicant's data (name, date of birth, nationality, document) is shown
while it is needed - from the lookup until the enrolment ends - and held in
memory only; the record on disk keeps the binding without it (:class:`CaseBinding`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from appliance.cases.model import CaseCheck
from packet.daylist import CaseAppointment
from packet.timestamps import format_timestamp


@dataclass(frozen=True)
class CaseDataView:
    """The case as central (or the day list) gives it: what the operator compares."""

    case_reference: str
    status: str  # open | suspended | closed
    appointment_code: str
    site_id: str
    window_start: str  # RFC 3339 UTC
    window_end: str
    appointment_today: bool
    full_name: str
    date_of_birth: str
    nationality: str
    document_type: str
    document_number: str


@dataclass(frozen=True)
class OverrideView:
    supervisor: str
    reason: str


@dataclass(frozen=True)
class CaseView:
    """One lookup (start screen) or the case an enrolment is bound to (later steps)."""

    reference: str
    outcome: str  # found | closed | not_found | other_site | not_in_day_list | unverifiable
    source: str  # online | day_list | none
    blocking: bool  # only a supervisor's override lets the enrolment start
    case: CaseDataView | None = None
    override: OverrideView | None = None


def case_data(case: CaseAppointment, today: tuple[datetime, datetime] | None) -> CaseDataView:
    in_day = today is not None and today[0] <= case.window_start < today[1]
    return CaseDataView(
        case_reference=case.case_reference,
        status=case.case_status,
        appointment_code=case.appointment_code,
        site_id=case.site_id,
        window_start=format_timestamp(case.window_start),
        window_end=format_timestamp(case.window_end),
        appointment_today=in_day,
        full_name=case.full_name,
        date_of_birth=case.date_of_birth,
        nationality=case.nationality,
        document_type=case.document_type,
        document_number=case.document_number,
    )


def check_view(check: CaseCheck, today: tuple[datetime, datetime] | None) -> CaseView:
    return CaseView(
        reference=check.reference,
        outcome=check.outcome.value,
        source=check.source.value,
        blocking=check.blocking,
        case=case_data(check.case, today) if check.case is not None else None,
    )


@dataclass(frozen=True)
class CaseBinding:
    """What the workflow record keeps of the verification (no name, no document)."""

    reference: str  # as typed or scanned
    case_reference: str  # the verified one (or the typed one, when overridden unfound)
    appointment_code: str | None
    outcome: str
    source: str
    verified_at: float
    check_in_id: str | None = None
    override_supervisor: str | None = None
    override_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseBinding:
        return cls(**data)

    @classmethod
    def of(
        cls, check: CaseCheck, check_in_id: str | None, override: OverrideView | None
    ) -> CaseBinding:
        return cls(
            reference=check.reference,
            case_reference=check.case.case_reference if check.case else check.reference,
            appointment_code=check.case.appointment_code if check.case else None,
            outcome=check.outcome.value,
            source=check.source.value,
            verified_at=time.time(),
            check_in_id=check_in_id,
            override_supervisor=override.supervisor if override else None,
            override_reason=override.reason if override else None,
        )

    def view(self) -> CaseView:
        """After a restart: the binding without the applicant's data (it was in memory)."""
        override = None
        if self.override_supervisor is not None:
            override = OverrideView(self.override_supervisor, self.override_reason or "")
        return CaseView(
            reference=self.reference,
            outcome=self.outcome,
            source=self.source,
            blocking=False,
            override=override,
        )
