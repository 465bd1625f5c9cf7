"""The case store behind ``CaseService``: one small interface, pluggable back ends.

AIMA's own case system is the real source; the reference central keeps a copy of
what the counters need in a :class:`CaseStore`. Back ends:

- ``embedded`` (:mod:`central.cases.sqlite_store`): SQLite under the state
  directory, seeded with synthetic cases (:mod:`central.cases.synthetic`) for the
  demo and tests;
- ``postgres`` (:mod:`central.cases.postgres_store`): the same tables in the
  PostgreSQL database of the distributed back end, so every replica answers alike.

Rules every back end keeps:

- ``add_case`` is idempotent by case reference and appointment code (seeding twice
  changes nothing);
- ``check_in`` records at most one attendance per appointment: the first check-in
  wins, atomically, also when replicas race, and every caller gets the recorded one;
- times are timezone-aware UTC datetimes in and out;
- a back end that cannot reach its database raises
  :class:`central.storage.StorageUnavailable`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

#: The time zone of a site nobody configured (mainland Portugal and Madeira).
DEFAULT_TIME_ZONE = "Europe/Lisbon"


@dataclass(frozen=True)
class CaseRecord:
    """What central keeps of a case for the counters (cases.proto CaseSummary)."""

    case_reference: str
    status: str  # open | suspended | closed
    full_name: str
    date_of_birth: str
    nationality: str
    document_type: str
    document_number: str


@dataclass(frozen=True)
class AppointmentRecord:
    appointment_code: str
    case_reference: str
    site_id: str
    window_start: dt.datetime
    window_end: dt.datetime


@dataclass(frozen=True)
class CheckInRecord:
    """One attendance: the check-in that marked the appointment attended."""

    check_in_id: str
    appointment_code: str
    device_id: str
    checked_in_at: dt.datetime
    verified_offline: bool
    received_at: dt.datetime


class CaseStore(Protocol):
    """Everything ``CaseService`` reads and writes. Every method may raise StorageUnavailable."""

    backend: str

    async def add_case(self, case: CaseRecord, appointments: Sequence[AppointmentRecord]) -> None:
        """Insert the case and its appointments unless they exist (idempotent)."""
        ...

    async def set_time_zone(self, site_id: str, time_zone: str) -> None:
        """The IANA time zone whose calendar day a site's day list follows."""
        ...

    async def time_zone(self, site_id: str) -> str:
        """The site's time zone (:data:`DEFAULT_TIME_ZONE` when none is set)."""
        ...

    async def case(self, case_reference: str) -> CaseRecord | None: ...

    async def appointment(self, appointment_code: str) -> AppointmentRecord | None: ...

    async def appointments_of(self, case_reference: str) -> list[AppointmentRecord]: ...

    async def appointments_starting(
        self, site_id: str, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[CaseRecord, AppointmentRecord]]:
        """Appointments at ``site_id`` whose window starts in [start, end), in start order."""
        ...

    async def check_in(self, record: CheckInRecord) -> CheckInRecord | None:
        """Record the attendance unless the appointment has one; return the one on record.

        None when the appointment has none and ``check_in_id`` is already used for
        another appointment (a client error).
        """
        ...

    async def check_ins(
        self, site_id: str, start: dt.datetime, end: dt.datetime
    ) -> list[CheckInRecord]:
        """Attendances of the appointments at ``site_id`` starting in [start, end)."""
        ...

    async def close(self) -> None: ...
