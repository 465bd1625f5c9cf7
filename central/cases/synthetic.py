"""Synthetic cases for the demo and tests: no real people, every name plainly invented.

For a site and a day, :func:`synthetic_day` makes, deterministically (the same
site and day always give the same cases):

- ``count`` open cases with appointments spread over the day (09:00-17:00 in the
  site's time zone);
- one suspended and two closed cases with appointments at the site that day;
- two open cases whose appointments that day are at :data:`OTHER_SITE`.

Surnames are words that say the person is invented ("Exemplo", "Fictício",
"Sintético", ...), documents are numbered ``SYN...`` and some applicants carry
ICAO's specimen nationality ``UTO``. :class:`SyntheticCases` seeds a store on
demand, once per site and day, so a reference central running for days always
has today's appointments.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

from central.cases.store import AppointmentRecord, CaseRecord, CaseStore

OTHER_SITE = "CLAIM-SYN-OTHER"
DEFAULT_COUNT = 24
MAX_COUNT = 1000
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_GIVEN = (
    "Amara", "Ravi", "Sita", "Farid", "Olena", "Bilal", "Nadia", "Tiago", "Mei", "Aisha",
    "Kofi", "Priya", "Yusuf", "Mariana", "Dmytro", "Fatima", "Arjun", "Leila", "Samir", "Ines",
)  # fmt: skip
_SURNAMES = ("Exemplo", "Fictício", "Modelo", "Amostra", "Simulado", "Espécime", "Ensaio")
_NATIONALITIES = ("UTO", "BRA", "IND", "NPL", "BGD", "UKR", "PAK", "CPV", "AGO", "XXA")
_DAY_START = dt.time(9, 0)
_DAY_MINUTES = 8 * 60

Seeded = tuple[CaseRecord, list[AppointmentRecord]]


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()


def _person(seed: bytes, reference: str, status: str) -> CaseRecord:
    given = _GIVEN[seed[0] % len(_GIVEN)]
    first, second = _SURNAMES[seed[1] % len(_SURNAMES)], _SURNAMES[seed[2] % len(_SURNAMES)]
    nationality = _NATIONALITIES[seed[3] % len(_NATIONALITIES)]
    year = 1950 + seed[4] % 55
    birth = f"{year:04d}-{1 + seed[5] % 12:02d}-{1 + seed[6] % 28:02d}"
    if seed[7] % 10 == 0:
        birth = f"{year:04d}"  # no day or month on the document, as ICAO 9303 allows
    document_type = "travel_document" if nationality == "XXA" else "passport"
    if seed[8] % 4 == 0:
        document_type = "residence_permit"
    # Nine characters, as an MRZ document-number field holds without an extension.
    number = "SYN" + str(int.from_bytes(seed[9:13], "big") % 10**6).zfill(6)
    return CaseRecord(
        case_reference=reference,
        status=status,
        full_name=f"{given} {first} {second} Sintético",
        date_of_birth=birth,
        nationality=nationality,
        document_type=document_type,
        document_number=number,
    )


def _appointment(
    seed: bytes, case: str, site: str, start: dt.datetime, minutes: int
) -> AppointmentRecord:
    number = int.from_bytes(seed[16:24], "big")
    code = "".join(_CROCKFORD[(number >> (5 * i)) & 31] for i in range(8))
    return AppointmentRecord(
        appointment_code=f"APT-{code}",
        case_reference=case,
        site_id=site,
        window_start=start.astimezone(dt.UTC),
        window_end=(start + dt.timedelta(minutes=minutes)).astimezone(dt.UTC),
    )


def synthetic_day(site_id: str, day: dt.date, count: int, time_zone: str) -> list[Seeded]:
    """The synthetic cases of ``site_id`` on ``day`` (see the module docstring)."""
    if not 0 <= count <= MAX_COUNT:
        raise ValueError(f"synthetic case count must be 0-{MAX_COUNT}")
    zone = ZoneInfo(time_zone)
    opening = dt.datetime.combine(day, _DAY_START, zone)
    step = max(5, _DAY_MINUTES // max(count, 1))
    plan: list[tuple[str, str, int, str]] = []  # (kind, status, minute of the day, site)
    plan += [("open", "open", (i * _DAY_MINUTES) // max(count, 1), site_id) for i in range(count)]
    plan += [("suspended", "suspended", 75, site_id)]
    plan += [("closed", "closed", 120, site_id), ("closed", "closed", 300, site_id)]
    plan += [("elsewhere", "open", 60, OTHER_SITE), ("elsewhere", "open", 240, OTHER_SITE)]
    seeded: list[Seeded] = []
    for index, (kind, status, minute, site) in enumerate(plan):
        seed = _digest("synthetic-case", site_id, day.isoformat(), kind, index)
        reference = f"AIMA-{day.year}-{int.from_bytes(seed[24:28], 'big') % 10**8:08d}"
        start = opening + dt.timedelta(minutes=minute)
        case = _person(seed, reference, status)
        seeded.append((case, [_appointment(seed, reference, site, start, max(step, 15))]))
    return seeded


def synthetic_case(
    reference: str, site_id: str, start: dt.datetime, *, status: str = "open", minutes: int = 20
) -> Seeded:
    """One invented applicant for ``reference`` with an appointment at ``site_id`` (tests)."""
    seed = _digest("named-synthetic-case", reference, site_id)  # same person every day
    return _person(seed, reference, status), [
        _appointment(seed, reference, site_id, start, minutes)
    ]


class SyntheticCases:
    """Seeds ``store`` with :func:`synthetic_day` for the configured sites, on demand."""

    def __init__(self, store: CaseStore, sites: dict[str, int]) -> None:
        self._store = store
        self.sites = dict(sites)
        self._done: set[tuple[str, dt.date]] = set()

    async def ensure(self, site_id: str, day: dt.date) -> list[Seeded]:
        """Seed ``site_id``'s cases of ``day`` once (nothing for sites not configured)."""
        count = self.sites.get(site_id)
        if count is None or (site_id, day) in self._done:
            return []
        seeded = synthetic_day(site_id, day, count, await self._store.time_zone(site_id))
        for case, appointments in seeded:
            await self._store.add_case(case, appointments)
        self._done.add((site_id, day))
        return seeded
