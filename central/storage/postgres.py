"""The PostgreSQL index of the distributed back end (psycopg 3, async connection pool).

Every decision that must hold across replicas is a statement PostgreSQL
serialises, never an in-process lock:

- a Write chunk is acknowledged only if ``UPDATE uploads SET committed_size = ...
  WHERE committed_size = <offset>`` matched (compare-and-set), in the same
  transaction that records the chunk's object key;
- a Commit is recorded with ``INSERT ... ON CONFLICT (packet_id) DO NOTHING``:
  one replica's row wins and every other replica returns that row's receipt;
- an enrolment token is spent with ``UPDATE ... WHERE used_by IS NULL``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from central.storage.base import (
    HeartbeatRecord,
    StorageUnavailable,
    StoredPacket,
    TokenState,
    UploadInfo,
)
from central.storage.migrate import migrate

logger = logging.getLogger(__name__)

Conn = psycopg.AsyncConnection[tuple[Any, ...]]


@contextlib.contextmanager
def _unavailable_on_error() -> Any:
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
        raise StorageUnavailable("database", type(exc).__name__) from exc


class PostgresIndex:
    def __init__(self, conninfo: str, *, min_size: int = 2, max_size: int = 16) -> None:
        parts = conninfo_to_dict(conninfo)
        #: Where the index lives, for messages (never the password).
        self.where = f"{parts.get('host', 'local socket')}:{parts.get('port', 5432)}"
        self.where += f"/{parts.get('dbname', '')}"
        self._pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            open=False,
            timeout=5.0,
            check=AsyncConnectionPool.check_connection,
            kwargs={"connect_timeout": 3, "application_name": "appliance-receiver"},
            name="central-index",
        )

    async def open(self, *, run_migrations: bool = True) -> None:
        try:
            await self._pool.open(wait=True, timeout=15.0)
        except PoolTimeout as exc:
            raise StorageUnavailable("database", f"cannot connect to {self.where}") from exc
        if run_migrations:
            async with self._pool.connection() as conn:
                await migrate(conn)

    async def close(self) -> None:
        await self._pool.close()

    @contextlib.asynccontextmanager
    async def _conn(self) -> AsyncIterator[Conn]:
        with _unavailable_on_error():
            async with self._pool.connection() as conn:
                yield conn

    def connection(self) -> contextlib.AbstractAsyncContextManager[Conn]:
        """A pooled connection; connection errors become StorageUnavailable."""
        return self._conn()

    async def _one(self, sql: Any, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        async with self._conn() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchone()

    # ----------------------------------------------------------------- uploads

    async def upload_info(self, packet_id: str) -> UploadInfo | None:
        row = await self._one(
            "SELECT device_id, total_size, sha256, committed_size FROM uploads"
            " WHERE packet_id = %s",
            (packet_id,),
        )
        return None if row is None else UploadInfo(row[0], int(row[1]), row[2], int(row[3]))

    async def begin_upload(
        self, packet_id: str, device_id: str, total_size: int, sha256: str
    ) -> UploadInfo:
        async with self._conn() as conn:
            await conn.execute(
                "INSERT INTO uploads (packet_id, device_id, total_size, sha256)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (packet_id) DO NOTHING",
                (packet_id, device_id, total_size, sha256),
            )
        info = await self.upload_info(packet_id)
        assert info is not None
        return info

    async def advance(
        self, packet_id: str, offset: int, length: int, object_key: str
    ) -> int | None:
        """Record a durable part at ``offset``; None when another writer got there first."""
        async with self._conn() as conn, conn.transaction():
            cursor = await conn.execute(
                "UPDATE uploads SET committed_size = committed_size + %s, updated_at = now()"
                " WHERE packet_id = %s AND committed_size = %s RETURNING committed_size",
                (length, packet_id, offset),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            await conn.execute(
                "INSERT INTO upload_parts (packet_id, part_offset, length, object_key)"
                " VALUES (%s, %s, %s, %s)",
                (packet_id, offset, length, object_key),
            )
            return int(row[0])

    async def parts(self, packet_id: str) -> list[tuple[int, int, str]]:
        async with self._conn() as conn:
            cursor = await conn.execute(
                "SELECT part_offset, length, object_key FROM upload_parts WHERE packet_id = %s"
                " ORDER BY part_offset",
                (packet_id,),
            )
            return [(int(r[0]), int(r[1]), r[2]) for r in await cursor.fetchall()]

    async def drop_upload(self, packet_id: str) -> list[str]:
        """Forget an upload; return its part keys (for the caller to delete)."""
        async with self._conn() as conn, conn.transaction():
            cursor = await conn.execute(
                "DELETE FROM upload_parts WHERE packet_id = %s RETURNING object_key", (packet_id,)
            )
            keys = [r[0] for r in await cursor.fetchall()]
            await conn.execute("DELETE FROM uploads WHERE packet_id = %s", (packet_id,))
            return keys

    # ----------------------------------------------------------------- packets

    async def committed(self, packet_id: str) -> StoredPacket | None:
        row = await self._one(
            "SELECT packet_id::text, device_id, size, sha256, receipt, commits FROM packets"
            " WHERE packet_id = %s",
            (packet_id,),
        )
        return None if row is None else _stored(row)

    async def insert_packet(
        self,
        stored: StoredPacket,
        object_key: str,
        manifest_json: str,
    ) -> tuple[StoredPacket, list[str]]:
        """Insert unless present; (the winning row, part keys freed by this call)."""
        case = str(json.loads(manifest_json).get("case_reference", ""))
        async with self._conn() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO packets (packet_id, device_id, size, sha256, object_key, receipt,"
                " manifest, case_reference) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (packet_id) DO NOTHING",
                (
                    stored.packet_id,
                    stored.device_id,
                    stored.size,
                    stored.sha256,
                    object_key,
                    stored.receipt,
                    manifest_json,
                    case,
                ),
            )
            cursor = await conn.execute(
                "DELETE FROM upload_parts WHERE packet_id = %s RETURNING object_key",
                (stored.packet_id,),
            )
            freed = [r[0] for r in await cursor.fetchall()]
            await conn.execute("DELETE FROM uploads WHERE packet_id = %s", (stored.packet_id,))
            cursor = await conn.execute(
                "SELECT packet_id::text, device_id, size, sha256, receipt, commits FROM packets"
                " WHERE packet_id = %s",
                (stored.packet_id,),
            )
            row = await cursor.fetchone()
        assert row is not None
        return _stored(row), freed

    async def count_repeat_commit(self, packet_id: str) -> None:
        async with self._conn() as conn:
            await conn.execute(
                "UPDATE packets SET commits = commits + 1 WHERE packet_id = %s", (packet_id,)
            )

    async def packets_with_manifests(self) -> list[tuple[StoredPacket, dict[str, Any]]]:
        async with self._conn() as conn:
            cursor = await conn.execute(
                "SELECT packet_id::text, device_id, size, sha256, receipt, commits,"
                " manifest FROM packets ORDER BY committed_at"
            )
            rows = await cursor.fetchall()
        return [(_stored(r[:6]), _json_object(r[6])) for r in rows]

    # ------------------------------------------------------ tokens and devices

    async def add_token(self, token: str) -> None:
        async with self._conn() as conn:
            await conn.execute(
                "INSERT INTO enrolment_tokens (token) VALUES (%s) ON CONFLICT DO NOTHING",
                (token,),
            )

    async def token_state(self, token: str) -> TokenState | None:
        row = await self._one(
            "SELECT used_by, csr_key_sha256, response FROM enrolment_tokens WHERE token = %s",
            (token,),
        )
        if row is None:
            return None
        return TokenState(row[0] is not None, row[1], None if row[2] is None else bytes(row[2]))

    async def use_token(
        self, token: str, device_id: str, key_sha256: str, response: bytes
    ) -> TokenState:
        async with self._conn() as conn:
            await conn.execute(
                "UPDATE enrolment_tokens SET used_by = %s, csr_key_sha256 = %s, response = %s,"
                " used_at = now() WHERE token = %s AND used_by IS NULL",
                (device_id, key_sha256, response, token),
            )
        state = await self.token_state(token)
        assert state is not None
        return state

    async def register_device(
        self, device_id: str, serial: int, site_id: str, certificate_der: bytes
    ) -> None:
        async with self._conn() as conn:
            await conn.execute(
                "INSERT INTO devices (serial, device_id, site_id, certificate)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (serial) DO NOTHING",
                (str(serial), device_id, site_id, certificate_der),
            )

    async def revoke(self, *, serial: int | None = None, device_id: str | None = None) -> int:
        async with self._conn() as conn, conn.transaction():
            count = 0
            if serial is not None:
                cursor = await conn.execute(
                    "INSERT INTO revocations (serial) VALUES (%s) ON CONFLICT DO NOTHING",
                    (str(serial),),
                )
                count += cursor.rowcount
            if device_id is not None:
                cursor = await conn.execute(
                    "INSERT INTO revocations (serial) SELECT serial FROM devices"
                    " WHERE device_id = %s ON CONFLICT DO NOTHING",
                    (device_id,),
                )
                count += cursor.rowcount
            return count

    async def device_site(self, device_id: str) -> str | None:
        row = await self._one(
            "SELECT site_id FROM devices WHERE device_id = %s ORDER BY enrolled_at DESC LIMIT 1",
            (device_id,),
        )
        return None if row is None else str(row[0])

    async def revoked_serials(self) -> dict[int, dt.datetime]:
        async with self._conn() as conn:
            cursor = await conn.execute("SELECT serial, revoked_at FROM revocations")
            return {int(r[0]): r[1] for r in await cursor.fetchall()}

    async def record_heartbeat(self, record: HeartbeatRecord) -> None:
        async with self._conn() as conn:
            await conn.execute(
                "INSERT INTO heartbeats (device_id, received_at, software_version, outbox_depth,"
                " outbox_quarantined) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (device_id) DO"
                " UPDATE SET received_at = EXCLUDED.received_at,"
                " software_version = EXCLUDED.software_version,"
                " outbox_depth = EXCLUDED.outbox_depth,"
                " outbox_quarantined = EXCLUDED.outbox_quarantined",
                (
                    record.device_id,
                    record.received_at,
                    record.software_version,
                    record.outbox_depth,
                    record.outbox_quarantined,
                ),
            )

    async def ping(self) -> bool:
        try:
            await self._one("SELECT 1")
        except StorageUnavailable:
            return False
        return True


def _stored(row: tuple[Any, ...]) -> StoredPacket:
    return StoredPacket(str(row[0]), row[1], int(row[2]), row[3], bytes(row[4]), int(row[5]))


def _json_object(value: object) -> dict[str, Any]:
    """A jsonb column as a dict (psycopg decodes jsonb; text would still be parsed)."""
    decoded = json.loads(value) if isinstance(value, str | bytes) else value
    if not isinstance(decoded, dict):
        raise ValueError("manifest column is not a JSON object")
    return decoded
