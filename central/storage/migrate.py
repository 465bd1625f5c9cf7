"""Plain versioned SQL migrations for the PostgreSQL index.

Files ``migrations/NNNN_name.sql`` are applied in order, each in its own
transaction, and recorded in ``schema_migrations`` with their SHA-256. Every
replica calls :func:`migrate` on start; a transaction-scoped advisory lock makes
concurrent starts apply each file exactly once. An applied file whose text has
changed since is refused (a migration, once shipped, is never edited: add one).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

#: Arbitrary constant naming the migration lock (pg_advisory_xact_lock key).
LOCK_KEY = 0x434C41494D  # "CLAIM"


class MigrationError(RuntimeError):
    """The database's schema history does not match the shipped migrations."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def shipped_migrations() -> list[Migration]:
    folder = resources.files("central.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append(Migration(version, entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise MigrationError("migration files must be numbered 0001, 0002, ... without gaps")
    return found


async def migrate(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> list[str]:
    """Apply every pending migration; return the names applied by this call."""
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,"
            " name text NOT NULL, sha256 text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
    for migration in shipped_migrations():
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            cursor = await conn.execute(
                "SELECT sha256 FROM schema_migrations WHERE version = %s", (migration.version,)
            )
            row = await cursor.fetchone()
            if row is not None:
                if row[0] != migration.sha256:
                    raise MigrationError(
                        f"migration {migration.name} differs from the one applied to this database"
                    )
                continue
            await conn.execute(migration.sql.encode())
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, sha256) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.sha256),
            )
            applied_now.append(migration.name)
            logger.info("applied migration %s", migration.name)
    return applied_now
