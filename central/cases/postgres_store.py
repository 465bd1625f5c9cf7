"""The case store in PostgreSQL (the distributed back end's database; migration 0002).

Every replica reads and writes the same tables, so any replica answers any
lookup alike; the first check-in of an appointment is the one row
``INSERT ... ON CONFLICT DO NOTHING`` lets in, whichever replica races.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from central.cases.store import DEFAULT_TIME_ZONE, AppointmentRecord, CaseRecord, CheckInRecord
from central.storage.base import StorageUnavailable
from central.storage.migrate import migrate

Conn = psycopg.AsyncConnection[tuple[Any, ...]]
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
_SELECT_ATTENDANCE = (
    "SELECT t.check_in_id::text, t.appointment_code, t.device_id, t.checked_in_at,"
    " t.verified_offline, t.received_at FROM attendances t"
)


class PostgresCaseStore:
    backend = "postgres"

    def __init__(self, conninfo: str) -> None:
        self._pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=4,
            open=False,
            timeout=5.0,
            check=AsyncConnectionPool.check_connection,
            kwargs={"connect_timeout": 3, "application_name": "appliance-receiver-cases"},
            name="central-cases",
        )

    async def open(self) -> None:
        try:
            await self._pool.open(wait=True, timeout=15.0)
        except PoolTimeout as exc:
            raise StorageUnavailable("database", "cannot connect for the case store") from exc
        async with self._conn() as conn:
            await migrate(conn)

    async def close(self) -> None:
        await self._pool.close()

    @contextlib.asynccontextmanager
    async def _conn(self) -> AsyncIterator[Conn]:
        try:
            async with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            raise StorageUnavailable("database", type(exc).__name__) from exc

    async def _rows(self, sql: Any, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async with self._conn() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchall()

    async def add_case(self, case: CaseRecord, appointments: Sequence[AppointmentRecord]) -> None:
        async with self._conn() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO cases VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
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
            for a in appointments:
                await conn.execute(
                    "INSERT INTO appointments VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (a.appointment_code, a.case_reference, a.site_id, a.window_start, a.window_end),
                )

    async def set_time_zone(self, site_id: str, time_zone: str) -> None:
        await self._rows(
            "INSERT INTO case_sites VALUES (%s, %s) ON CONFLICT (site_id)"
            " DO UPDATE SET time_zone = EXCLUDED.time_zone RETURNING site_id",
            (site_id, time_zone),
        )

    async def time_zone(self, site_id: str) -> str:
        rows = await self._rows("SELECT time_zone FROM case_sites WHERE site_id = %s", (site_id,))
        return str(rows[0][0]) if rows else DEFAULT_TIME_ZONE

    async def case(self, case_reference: str) -> CaseRecord | None:
        rows = await self._rows(_SELECT_CASE + " WHERE c.case_reference = %s", (case_reference,))
        return CaseRecord(*rows[0]) if rows else None

    async def appointment(self, appointment_code: str) -> AppointmentRecord | None:
        rows = await self._rows(
            _SELECT_APPOINTMENT + " WHERE a.appointment_code = %s",
            (appointment_code,),
        )
        return AppointmentRecord(*rows[0]) if rows else None

    async def appointments_of(self, case_reference: str) -> list[AppointmentRecord]:
        rows = await self._rows(
            _SELECT_APPOINTMENT + " WHERE a.case_reference = %s ORDER BY a.window_start",
            (case_reference,),
        )
        return [AppointmentRecord(*row) for row in rows]

    async def appointments_starting(
        self, site_id: str, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[CaseRecord, AppointmentRecord]]:
        rows = await self._rows(
            _SELECT_DAY + " WHERE a.site_id = %s AND a.window_start >= %s AND a.window_start < %s"
            " ORDER BY a.window_start, a.appointment_code",
            (site_id, start, end),
        )
        return [(CaseRecord(*row[:7]), AppointmentRecord(*row[7:])) for row in rows]

    async def check_in(self, record: CheckInRecord) -> CheckInRecord | None:
        async with self._conn() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO attendances VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (
                    record.appointment_code,
                    record.check_in_id,
                    record.device_id,
                    record.checked_in_at,
                    record.verified_offline,
                    record.received_at,
                ),
            )
            cursor = await conn.execute(
                _SELECT_ATTENDANCE + " WHERE t.appointment_code = %s",
                (record.appointment_code,),
            )
            row = await cursor.fetchone()
        return None if row is None else CheckInRecord(*row)

    async def check_ins(
        self, site_id: str, start: dt.datetime, end: dt.datetime
    ) -> list[CheckInRecord]:
        rows = await self._rows(
            _SELECT_ATTENDANCE + " JOIN appointments a ON a.appointment_code = t.appointment_code"
            " WHERE a.site_id = %s AND a.window_start >= %s AND a.window_start < %s"
            " ORDER BY t.checked_in_at",
            (site_id, start, end),
        )
        return [CheckInRecord(*row) for row in rows]
