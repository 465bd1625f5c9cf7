"""The embedded back end's :class:`~central.storage.audit.AuditStore`: tables in the
receiver's SQLite index (same connection, same single process)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from typing import Any

from central.storage.audit import MAX_APPEND, AuditFlag, AuditLogState, StoredLedger

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_logs (
    device_id TEXT PRIMARY KEY, entries_held INTEGER NOT NULL DEFAULT 0,
    frontier BLOB NOT NULL DEFAULT x'', checkpoint_size INTEGER NOT NULL DEFAULT 0,
    checkpoint_root BLOB NOT NULL DEFAULT x'', checkpoint_time TEXT,
    checkpoint_note BLOB NOT NULL DEFAULT x'', flagged INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS audit_entries (
    device_id TEXT NOT NULL, idx INTEGER NOT NULL, leaf BLOB NOT NULL, entry BLOB NOT NULL,
    PRIMARY KEY (device_id, idx));
CREATE TABLE IF NOT EXISTS audit_flags (
    device_id TEXT NOT NULL, kind TEXT NOT NULL, checkpoint_size INTEGER NOT NULL,
    detail TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (device_id, kind, checkpoint_size));
CREATE TABLE IF NOT EXISTS audit_ledgers (
    device_id TEXT NOT NULL, day TEXT NOT NULL, site_id TEXT NOT NULL,
    revision INTEGER NOT NULL, note BLOB NOT NULL, matches INTEGER NOT NULL,
    receipts INTEGER NOT NULL, missing_at_kiosk TEXT NOT NULL, unknown_at_central TEXT NOT NULL,
    received_at REAL NOT NULL, PRIMARY KEY (device_id, day));
"""

_STATE = (
    "SELECT device_id, entries_held, frontier, checkpoint_size, checkpoint_root,"
    " checkpoint_time, checkpoint_note, flagged FROM audit_logs"
)


class SqliteAuditStore:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._lock = threading.Lock()
        db.executescript(SCHEMA)

    async def state(self, device_id: str) -> AuditLogState:
        row = self._db.execute(_STATE + " WHERE device_id = ?", (device_id,)).fetchone()
        return AuditLogState(device_id) if row is None else _state(row)

    async def states(self) -> list[AuditLogState]:
        return [_state(row) for row in self._db.execute(_STATE + " ORDER BY device_id")]

    async def leaf_hashes(self, device_id: str, start: int, end: int) -> list[bytes]:
        rows = self._db.execute(
            "SELECT leaf FROM audit_entries WHERE device_id = ? AND idx >= ? AND idx < ?"
            " ORDER BY idx",
            (device_id, start, end),
        )
        return [bytes(r[0]) for r in rows]

    async def entries(self, device_id: str, start: int, end: int) -> list[bytes]:
        rows = self._db.execute(
            "SELECT entry FROM audit_entries WHERE device_id = ? AND idx >= ? AND idx < ?"
            " ORDER BY idx",
            (device_id, start, end),
        )
        return [bytes(r[0]) for r in rows]

    async def append_entries(
        self,
        device_id: str,
        first_index: int,
        entries: list[bytes],
        leaves: list[bytes],
        frontier: bytes,
    ) -> int:
        if len(entries) > MAX_APPEND or len(entries) != len(leaves):
            raise ValueError("entries and leaves differ or exceed the limit")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR IGNORE INTO audit_logs (device_id) VALUES (?)", (device_id,)
                )
                held = int(
                    self._db.execute(
                        "SELECT entries_held FROM audit_logs WHERE device_id = ?", (device_id,)
                    ).fetchone()[0]
                )
                if held == first_index and entries:
                    self._db.executemany(
                        "INSERT INTO audit_entries (device_id, idx, leaf, entry) VALUES (?,?,?,?)",
                        [
                            (device_id, first_index + n, leaf, entry)
                            for n, (leaf, entry) in enumerate(zip(leaves, entries, strict=True))
                        ],
                    )
                    held += len(entries)
                    self._db.execute(
                        "UPDATE audit_logs SET entries_held = ?, frontier = ? WHERE device_id = ?",
                        (held, frontier, device_id),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return held

    async def accept_checkpoint(
        self,
        device_id: str,
        previous_size: int,
        size: int,
        root: bytes,
        time: str,
        note: bytes,
    ) -> bool:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO audit_logs (device_id) VALUES (?)", (device_id,)
            )
            cursor = self._db.execute(
                "UPDATE audit_logs SET checkpoint_size = ?, checkpoint_root = ?,"
                " checkpoint_time = ?, checkpoint_note = ?"
                " WHERE device_id = ? AND checkpoint_size = ?",
                (size, root, time, note, device_id, previous_size),
            )
            return cursor.rowcount == 1

    async def flag(self, flag: AuditFlag) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO audit_flags (device_id, kind, checkpoint_size, detail, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (flag.device_id, flag.kind, flag.checkpoint_size, flag.detail, flag.at.timestamp()),
            )
            self._db.execute(
                "INSERT OR IGNORE INTO audit_logs (device_id) VALUES (?)", (flag.device_id,)
            )
            self._db.execute(
                "UPDATE audit_logs SET flagged = 1 WHERE device_id = ?", (flag.device_id,)
            )

    async def flags(self) -> list[AuditFlag]:
        rows = self._db.execute(
            "SELECT device_id, kind, checkpoint_size, detail, at FROM audit_flags ORDER BY at"
        )
        return [
            AuditFlag(r[0], r[1], int(r[2]), r[3], dt.datetime.fromtimestamp(r[4], dt.UTC))
            for r in rows
        ]

    async def store_ledger(self, ledger: StoredLedger) -> StoredLedger:
        with self._lock:
            self._db.execute(
                "INSERT INTO audit_ledgers (device_id, day, site_id, revision, note, matches,"
                " receipts, missing_at_kiosk, unknown_at_central, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (device_id, day) DO UPDATE SET site_id = excluded.site_id,"
                " revision = excluded.revision, note = excluded.note, matches = excluded.matches,"
                " receipts = excluded.receipts, missing_at_kiosk = excluded.missing_at_kiosk,"
                " unknown_at_central = excluded.unknown_at_central,"
                " received_at = excluded.received_at"
                " WHERE excluded.revision >= audit_ledgers.revision",
                _ledger_row(ledger),
            )
        row = self._db.execute(
            _LEDGERS + " WHERE device_id = ? AND day = ?", (ledger.device_id, ledger.day)
        ).fetchone()
        return _ledger(row)

    async def ledgers(self) -> list[StoredLedger]:
        return [_ledger(r) for r in self._db.execute(_LEDGERS + " ORDER BY day, device_id")]

    async def device_site(self, device_id: str) -> str | None:
        row = self._db.execute(
            "SELECT site_id FROM devices WHERE device_id = ? ORDER BY enrolled_at DESC LIMIT 1",
            (device_id,),
        ).fetchone()
        return None if row is None else str(row[0])

    async def receipts_between(
        self, device_id: str, since: dt.datetime, until: dt.datetime
    ) -> list[tuple[str, bytes]]:
        rows = self._db.execute(
            "SELECT packet_id, receipt FROM packets WHERE device_id = ?"
            " AND committed_at >= ? AND committed_at < ?",
            (device_id, since.timestamp(), until.timestamp()),
        )
        return [(r[0], bytes(r[1])) for r in rows]


_LEDGERS = (
    "SELECT device_id, day, site_id, revision, note, matches, receipts, missing_at_kiosk,"
    " unknown_at_central, received_at FROM audit_ledgers"
)


def _state(row: Any) -> AuditLogState:
    return AuditLogState(
        device_id=str(row[0]),
        entries_held=int(row[1]),
        frontier=bytes(row[2]),
        checkpoint_size=int(row[3]),
        checkpoint_root=bytes(row[4]),
        checkpoint_time=None if row[5] is None else str(row[5]),
        checkpoint_note=bytes(row[6]),
        flagged=bool(row[7]),
    )


def _ledger_row(ledger: StoredLedger) -> tuple[object, ...]:
    return (
        ledger.device_id,
        ledger.day,
        ledger.site_id,
        ledger.revision,
        ledger.note,
        int(ledger.matches),
        ledger.receipts,
        json.dumps(list(ledger.missing_at_kiosk)),
        json.dumps(list(ledger.unknown_at_central)),
        ledger.received_at.timestamp(),
    )


def _ledger(row: Any) -> StoredLedger:
    return StoredLedger(
        device_id=str(row[0]),
        day=str(row[1]),
        site_id=str(row[2]),
        revision=int(row[3]),
        note=bytes(row[4]),
        matches=bool(row[5]),
        receipts=int(row[6]),
        missing_at_kiosk=tuple(json.loads(str(row[7]))),
        unknown_at_central=tuple(json.loads(str(row[8]))),
        received_at=dt.datetime.fromtimestamp(float(row[9]), dt.UTC),
    )
