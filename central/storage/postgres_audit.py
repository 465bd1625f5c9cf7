"""The distributed back end's :class:`~central.storage.audit.AuditStore` (PostgreSQL).

Replicas share these tables (migration ``0002_audit.sql``); every decision two
replicas could race on is one statement PostgreSQL serialises: entries are
appended under ``SELECT ... FOR UPDATE`` of the device's row and only when
``first_index`` equals ``entries_held``; a checkpoint replaces the accepted one
only ``WHERE checkpoint_size = <the size verified against>``; a ledger revision
replaces a day's only if it is not lower.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from central.storage.audit import MAX_APPEND, AuditFlag, AuditLogState, StoredLedger
from central.storage.postgres import PostgresIndex

_STATE = (
    "SELECT device_id, entries_held, frontier, checkpoint_size, checkpoint_root,"
    " checkpoint_time, checkpoint_note, flagged FROM audit_logs"
)
_LEDGERS = (
    "SELECT device_id, day::text, site_id, revision, note, matches, receipts,"
    " missing_at_kiosk, unknown_at_central, received_at FROM audit_ledgers"
)


class PostgresAuditStore:
    def __init__(self, index: PostgresIndex) -> None:
        self._index = index

    async def state(self, device_id: str) -> AuditLogState:
        async with self._index.connection() as conn:
            cursor = await conn.execute(_STATE + " WHERE device_id = %s", (device_id,))
            row = await cursor.fetchone()
        return AuditLogState(device_id) if row is None else _state(row)

    async def states(self) -> list[AuditLogState]:
        async with self._index.connection() as conn:
            cursor = await conn.execute(_STATE + " ORDER BY device_id")
            return [_state(row) for row in await cursor.fetchall()]

    async def leaf_hashes(self, device_id: str, start: int, end: int) -> list[bytes]:
        return await self._column("leaf", device_id, start, end)

    async def entries(self, device_id: str, start: int, end: int) -> list[bytes]:
        return await self._column("entry", device_id, start, end)

    async def _column(self, column: str, device_id: str, start: int, end: int) -> list[bytes]:
        query = (
            "SELECT leaf FROM audit_entries"
            if column == "leaf"
            else "SELECT entry FROM audit_entries"
        )
        async with self._index.connection() as conn:
            cursor = await conn.execute(
                query + " WHERE device_id = %s AND idx >= %s AND idx < %s ORDER BY idx",
                (device_id, start, end),
            )
            return [bytes(r[0]) for r in await cursor.fetchall()]

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
        async with self._index.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO audit_logs (device_id) VALUES (%s) ON CONFLICT DO NOTHING",
                (device_id,),
            )
            cursor = await conn.execute(
                "SELECT entries_held FROM audit_logs WHERE device_id = %s FOR UPDATE", (device_id,)
            )
            row = await cursor.fetchone()
            held = int(row[0]) if row else 0
            if held != first_index or not entries:
                return held
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO audit_entries (device_id, idx, leaf, entry) VALUES (%s,%s,%s,%s)",
                    [
                        (device_id, first_index + n, leaf, entry)
                        for n, (leaf, entry) in enumerate(zip(leaves, entries, strict=True))
                    ],
                )
            held += len(entries)
            await conn.execute(
                "UPDATE audit_logs SET entries_held = %s, frontier = %s, updated_at = now()"
                " WHERE device_id = %s",
                (held, frontier, device_id),
            )
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
        async with self._index.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO audit_logs (device_id) VALUES (%s) ON CONFLICT DO NOTHING",
                (device_id,),
            )
            cursor = await conn.execute(
                "UPDATE audit_logs SET checkpoint_size = %s, checkpoint_root = %s,"
                " checkpoint_time = %s, checkpoint_note = %s, updated_at = now()"
                " WHERE device_id = %s AND checkpoint_size = %s",
                (size, root, time, note, device_id, previous_size),
            )
            return cursor.rowcount == 1

    async def flag(self, flag: AuditFlag) -> None:
        async with self._index.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO audit_flags (device_id, kind, checkpoint_size, detail, at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (flag.device_id, flag.kind, flag.checkpoint_size, flag.detail, flag.at),
            )
            await conn.execute(
                "INSERT INTO audit_logs (device_id, flagged) VALUES (%s, true)"
                " ON CONFLICT (device_id) DO UPDATE SET flagged = true, updated_at = now()",
                (flag.device_id,),
            )

    async def flags(self) -> list[AuditFlag]:
        async with self._index.connection() as conn:
            cursor = await conn.execute(
                "SELECT device_id, kind, checkpoint_size, detail, at FROM audit_flags ORDER BY at"
            )
            rows = await cursor.fetchall()
        return [AuditFlag(r[0], r[1], int(r[2]), r[3], r[4]) for r in rows]

    async def store_ledger(self, ledger: StoredLedger) -> StoredLedger:
        async with self._index.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO audit_ledgers (device_id, day, site_id, revision, note, matches,"
                " receipts, missing_at_kiosk, unknown_at_central, received_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (device_id, day) DO UPDATE SET site_id = EXCLUDED.site_id,"
                " revision = EXCLUDED.revision, note = EXCLUDED.note,"
                " matches = EXCLUDED.matches, receipts = EXCLUDED.receipts,"
                " missing_at_kiosk = EXCLUDED.missing_at_kiosk,"
                " unknown_at_central = EXCLUDED.unknown_at_central,"
                " received_at = EXCLUDED.received_at"
                " WHERE EXCLUDED.revision >= audit_ledgers.revision",
                (
                    ledger.device_id,
                    ledger.day,
                    ledger.site_id,
                    ledger.revision,
                    ledger.note,
                    ledger.matches,
                    ledger.receipts,
                    json.dumps(list(ledger.missing_at_kiosk)),
                    json.dumps(list(ledger.unknown_at_central)),
                    ledger.received_at,
                ),
            )
            cursor = await conn.execute(
                _LEDGERS + " WHERE device_id = %s AND day = %s", (ledger.device_id, ledger.day)
            )
            row = await cursor.fetchone()
        assert row is not None
        return _ledger(row)

    async def ledgers(self) -> list[StoredLedger]:
        async with self._index.connection() as conn:
            cursor = await conn.execute(_LEDGERS + " ORDER BY day, device_id")
            return [_ledger(r) for r in await cursor.fetchall()]

    async def device_site(self, device_id: str) -> str | None:
        async with self._index.connection() as conn:
            cursor = await conn.execute(
                "SELECT site_id FROM devices WHERE device_id = %s"
                " ORDER BY enrolled_at DESC LIMIT 1",
                (device_id,),
            )
            row = await cursor.fetchone()
        return None if row is None else str(row[0])

    async def receipts_between(
        self, device_id: str, since: dt.datetime, until: dt.datetime
    ) -> list[tuple[str, bytes]]:
        async with self._index.connection() as conn:
            cursor = await conn.execute(
                "SELECT packet_id::text, receipt FROM packets WHERE device_id = %s"
                " AND committed_at >= %s AND committed_at < %s",
                (device_id, since, until),
            )
            return [(r[0], bytes(r[1])) for r in await cursor.fetchall()]


def _state(row: Any) -> AuditLogState:
    return AuditLogState(
        device_id=row[0],
        entries_held=int(row[1]),
        frontier=bytes(row[2]),
        checkpoint_size=int(row[3]),
        checkpoint_root=bytes(row[4]),
        checkpoint_time=row[5],
        checkpoint_note=bytes(row[6]),
        flagged=bool(row[7]),
    )


def _ledger(row: Any) -> StoredLedger:
    def strings(value: Any) -> tuple[str, ...]:
        decoded = json.loads(value) if isinstance(value, str | bytes) else value
        return tuple(str(v) for v in decoded)

    return StoredLedger(
        device_id=row[0],
        day=row[1],
        site_id=row[2],
        revision=int(row[3]),
        note=bytes(row[4]),
        matches=bool(row[5]),
        receipts=int(row[6]),
        missing_at_kiosk=strings(row[7]),
        unknown_at_central=strings(row[8]),
        received_at=row[9],
    )
