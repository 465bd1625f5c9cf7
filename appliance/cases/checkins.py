"""Check-ins waiting for central: a durable queue, delivered exactly once.

Every check-in goes through this queue, online or not: it is written here
(SQLite WAL, ``synchronous=FULL``) before the enrolment starts, then sent. The
row keeps its ``check_in_id`` for every attempt, and central records at most one
attendance per appointment and answers a repeated ``check_in_id`` with the same
result (cases.proto), so a check-in sent twice after a lost answer is still one
attendance; the row is deleted only after central's OK (or a refusal central
documents as final, which is reported). Rows hold no name: the appointment code,
the case reference (for the record of operations when it is sent), the time and
the check-in id; a row lives until central answers.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from appliance.cases.model import CheckInTicket

_SCHEMA = """
CREATE TABLE IF NOT EXISTS check_ins (
    check_in_id TEXT PRIMARY KEY, appointment_code TEXT NOT NULL, case_reference TEXT NOT NULL,
    checked_in_at REAL NOT NULL, verified_offline INTEGER NOT NULL,
    queued_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
"""


@dataclass(frozen=True)
class QueueStatus:
    pending: int
    oldest_age_s: float
    last_error: str | None


class CheckInQueue:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def add(self, ticket: CheckInTicket) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO check_ins (check_in_id, appointment_code, case_reference,"
            " checked_in_at, verified_offline, queued_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                ticket.check_in_id,
                ticket.appointment_code,
                ticket.case_reference,
                ticket.checked_in_at.timestamp(),
                int(ticket.verified_offline),
                time.time(),
            ),
        )

    def pending(self, limit: int = 100) -> list[CheckInTicket]:
        rows = self._db.execute(
            "SELECT check_in_id, appointment_code, checked_in_at, verified_offline,"
            " case_reference FROM check_ins ORDER BY queued_at LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            CheckInTicket(row[0], row[1], datetime.fromtimestamp(row[2], UTC), bool(row[3]), row[4])
            for row in rows
        ]

    def failed(self, check_in_id: str, error: str) -> None:
        self._db.execute(
            "UPDATE check_ins SET attempts = attempts + 1, last_error = ? WHERE check_in_id = ?",
            (error[:200], check_in_id),
        )

    def remove(self, check_in_id: str) -> None:
        """Central answered (delivered, or refused for good): the row is done."""
        self._db.execute("DELETE FROM check_ins WHERE check_in_id = ?", (check_in_id,))

    def status(self) -> QueueStatus:
        count, oldest = self._db.execute(
            "SELECT count(*), min(queued_at) FROM check_ins"
        ).fetchone()
        error = self._db.execute(
            "SELECT last_error FROM check_ins WHERE last_error IS NOT NULL"
            " ORDER BY queued_at DESC LIMIT 1"
        ).fetchone()
        age = max(0.0, time.time() - oldest) if oldest is not None else 0.0
        return QueueStatus(int(count), age, error[0] if error else None)
