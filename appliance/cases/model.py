"""What a case lookup found, where from, and whether the enrolment may start on it."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from packet.daylist import CaseAppointment


class Outcome(enum.StrEnum):
    """The answer to "who is this?" (message keys ``case.<value>`` in the UI)."""

    FOUND = "found"  # an open case with an appointment at this site
    CLOSED = "closed"  # found, but the case is closed or suspended
    NOT_FOUND = "not_found"  # central knows no such case or appointment
    OTHER_SITE = "other_site"  # central says it is for another site
    NOT_IN_DAY_LIST = "not_in_day_list"  # offline: not in today's list for this site
    UNVERIFIABLE = "unverifiable"  # offline, and no day list for today


class Source(enum.StrEnum):
    ONLINE = "online"  # LookupCase answered by central
    DAY_LIST = "day_list"  # central unreachable: today's signed list on the kiosk
    NONE = "none"  # central unreachable and no list


#: Outcomes that stop the enrolment unless a supervisor overrides them.
BLOCKING = frozenset(Outcome) - {Outcome.FOUND}


@dataclass(frozen=True)
class CaseCheck:
    """One lookup: ``reference`` as asked, what was found, from where, when (Unix time)."""

    reference: str
    outcome: Outcome
    source: Source
    case: CaseAppointment | None = None
    checked_at: float = field(default_factory=time.time)

    @property
    def blocking(self) -> bool:
        return self.outcome in BLOCKING

    @property
    def offline(self) -> bool:
        return self.source is not Source.ONLINE

    def appointment_today(self, today_start: datetime, today_end: datetime) -> bool:
        """Does the appointment's window start within the given local day?"""
        if self.case is None:
            return False
        return today_start <= self.case.window_start < today_end


def outcome_of(case: CaseAppointment) -> Outcome:
    return Outcome.FOUND if case.open else Outcome.CLOSED


@dataclass(frozen=True)
class CheckInTicket:
    """A check-in to deliver: made when the operator confirmed the applicant's identity."""

    check_in_id: str
    appointment_code: str
    checked_in_at: datetime
    verified_offline: bool
    case_reference: str = ""  # for the record of operations when it is sent

    def __post_init__(self) -> None:
        if self.checked_in_at.tzinfo is None:
            raise ValueError("checked_in_at must be timezone-aware")

    @property
    def checked_in_utc(self) -> datetime:
        return self.checked_in_at.astimezone(UTC)
