"""The embedded case store: SQLite (WAL, ``synchronous=FULL``) under the state directory.

One process only, like the embedded packet store. The attendance of an
appointment is its primary key, so the first check-in wins in one statement.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from central.cases.store import (
    DEFAULT_TIME_ZONE,
    AppointmentRecord,
    CaseRecord,
    CheckInRecord,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    case_reference TEXT PRIMARY KEY, status TEXT NOT NULL, full_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL, nationality TEXT NOT NULL, document_type TEXT NOT NULL,
    document_number TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS appointments (
    appointment_code TEXT PRIMARY KEY,
    case_reference TEXT NOT NULL REFERENCES cases (case_reference),
    site_id TEXT NOT NULL, window_start REAL NOT NULL, window_end REAL NOT NULL);
CREATE INDEX IF NOT EXISTS appointments_site_start ON appointments (site_id, window_start);
CREATE INDEX IF NOT EXISTS appointments_case ON appointments (case_reference);
CREATE TABLE IF NOT EXISTS attendances (
    appointment_code TEXT PRIMARY KEY REFERENCES appointments (appointment_code),
    check_in_id TEXT NOT NULL UNIQUE, device_id TEXT NOT NULL, checked_in_at REAL NOT NULL,
    verified_offline INTEGER NOT NULL, received_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sites (site_id TEXT PRIMARY KEY, time_zone TEXT NOT NULL);
"""

_SELECT_CASE = (
    "SELECT c.case_reference, c.status, c.full_name, c.date_of_birth, c.nationality,"
    " c.document_type, c.document_number FROM cases c"
)
_SELECT_APPOINTMENT = (
    "SELECT a.appointment_code, a.case_reference, a.site_id, a.window_start, a.window_end"
    " FROM appointments a"
)
_SELECT_DAY = (
    "SELECT c.case_reference, c.status, c.full_name, c.date_of_birth, c.nationality,"
    " c.document_type, c.document_number,"
    " a.appointment_code, a.case_reference, a.site_id, a.window_start, a.window_end"
    " FROM appointments a JOIN cases c ON c.case_reference = a.case_reference"
)


class SqliteCaseStore:
    backend = "embedded"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    async def add_case(self, case: CaseRecord, appointments: Sequence[AppointmentRecord]) -> None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT OR IGNORE INTO cases VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    case.case_reference,
                    case.status,
                    case.full_name,
                    case.date_of_birth,
                    case.nationality,
                    case.document_type,
                    case.document_number,
                ),
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO appointments VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        a.appointment_code,
                        a.case_reference,
                        a.site_id,
                        a.window_start.timestamp(),
                        a.window_end.timestamp(),
                    )
                    for a in appointments
                ],
            )

    async def set_time_zone(self, site_id: str, time_zone: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO sites VALUES (?, ?)", (site_id, time_zone))

    async def time_zone(self, site_id: str) -> str:
        row = self._db.execute(
            "SELECT time_zone FROM sites WHERE site_id = ?", (site_id,)
        ).fetchone()
        return str(row[0]) if row else DEFAULT_TIME_ZONE

    async def case(self, case_reference: str) -> CaseRecord | None:
        row = self._db.execute(
            _SELECT_CASE + " WHERE c.case_reference = ?", (case_reference,)
        ).fetchone()
        return None if row is None else CaseRecord(*row)

    async def appointment(self, appointment_code: str) -> AppointmentRecord | None:
        row = self._db.execute(
            _SELECT_APPOINTMENT + " WHERE a.appointment_code = ?",
            (appointment_code,),
        ).fetchone()
        return None if row is None else _appointment(row)

    async def appointments_of(self, case_reference: str) -> list[AppointmentRecord]:
        rows = self._db.execute(
            _SELECT_APPOINTMENT + " WHERE a.case_reference = ? ORDER BY a.window_start",
            (case_reference,),
        ).fetchall()
        return [_appointment(row) for row in rows]

    async def appointments_starting(
        self, site_id: str, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[CaseRecord, AppointmentRecord]]:
        rows = self._db.execute(
            _SELECT_DAY + " WHERE a.site_id = ? AND a.window_start >= ? AND a.window_start < ?"
            " ORDER BY a.window_start, a.appointment_code",
            (site_id, start.timestamp(), end.timestamp()),
        ).fetchall()
        return [(CaseRecord(*row[:7]), _appointment(row[7:])) for row in rows]

    async def check_in(self, record: CheckInRecord) -> CheckInRecord | None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT OR IGNORE INTO attendances VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.appointment_code,
                    record.check_in_id,
                    record.device_id,
                    record.checked_in_at.timestamp(),
                    int(record.verified_offline),
                    record.received_at.timestamp(),
                ),
            )
            row = self._db.execute(
                "SELECT check_in_id, appointment_code, device_id, checked_in_at,"
                " verified_offline, received_at FROM attendances WHERE appointment_code = ?",
                (record.appointment_code,),
            ).fetchone()
        return None if row is None else _check_in(row)

    async def check_ins(
        self, site_id: str, start: dt.datetime, end: dt.datetime
    ) -> list[CheckInRecord]:
        rows = self._db.execute(
            "SELECT t.check_in_id, t.appointment_code, t.device_id, t.checked_in_at,"
            " t.verified_offline, t.received_at FROM attendances t"
            " JOIN appointments a ON a.appointment_code = t.appointment_code"
            " WHERE a.site_id = ? AND a.window_start >= ? AND a.window_start < ?"
            " ORDER BY t.checked_in_at",
            (site_id, start.timestamp(), end.timestamp()),
        ).fetchall()
        return [_check_in(row) for row in rows]

    async def close(self) -> None:
        self._db.close()


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _appointment(row: Sequence[object]) -> AppointmentRecord:
    code, case, site, start, end = row
    assert isinstance(start, float | int) and isinstance(end, float | int)
    return AppointmentRecord(str(code), str(case), str(site), _utc(start), _utc(end))


def _check_in(row: Sequence[object]) -> CheckInRecord:
    check_in_id, code, device, at, offline, received = row
    assert isinstance(at, float | int) and isinstance(received, float | int)
    return CheckInRecord(
        str(check_in_id), str(code), str(device), _utc(at), bool(offline), _utc(received)
    )
