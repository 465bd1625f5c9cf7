"""The outbox: sealed packets waiting for central, and proof of what was delivered.

States: ``queued -> uploading -> committed -> purged`` (plus ``quarantined``).
A packet's blob is written to ``tmp/``, fsynced, renamed into ``blobs/`` and the
directory fsynced *before* its row is inserted; :meth:`Outbox.add` returns only
then. Recovery on open makes every crash point safe:

- a blob without a row (crash after rename) is re-registered as queued;
- a temp file (crash while sealing) is removed: it was never acknowledged;
- ``uploading`` rows go back to ``queued`` (central's idempotent commit makes
  re-upload harmless);
- ``committed`` rows whose blob still exists are purged.

A purged row is a tombstone keeping the packet id and central's receipt for
the retention period. Each row may carry ``case_digest``, a keyed hash of the
case reference (:mod:`appliance.outbox.case_key`; never the clear value), so
the kiosk can warn when a case it already enrolled comes back. A blob that
fails its hash check is moved to ``quarantine/`` and reported, never deleted.
Only sealed ciphertext is ever written here.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import BinaryIO, ParamSpec, TypeVar

from appliance.durable import fsync_directory

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: case_digest

_SCHEMA = """
CREATE TABLE IF NOT EXISTS packets (
    packet_id   TEXT PRIMARY KEY,
    state       TEXT NOT NULL CHECK (state IN
                  ('queued', 'uploading', 'committed', 'purged', 'quarantined')),
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    receipt     BLOB,
    error       TEXT,
    case_digest TEXT
);
CREATE INDEX IF NOT EXISTS packets_state ON packets (state, created_at);
"""


class OutboxError(Exception):
    """The outbox cannot do what was asked; the message is operator-facing."""


class OutboxFull(OutboxError):
    """No room for another packet: the capture stays in memory and is not lost."""


@dataclass(frozen=True)
class OutboxEntry:
    packet_id: str
    state: str
    size: int
    sha256: str
    created_at: float
    attempts: int
    path: Path


@dataclass(frozen=True)
class OutboxStatus:
    depth: int  # queued + uploading
    bytes: int
    oldest_age_s: float
    committed_total: int
    quarantined: int
    quota_bytes: int
    warn: bool  # above the early-warning level
    full: bool


P = ParamSpec("P")
R = TypeVar("R")


def _locked(method: Callable[P, R]) -> Callable[P, R]:
    @wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0]._lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)

    return wrapper


class Outbox:
    """One kiosk's outbox under ``root``. Thread-confined: use from one thread/loop."""

    def __init__(self, root: Path, *, quota_bytes: int, warn_percent: int = 80) -> None:
        self.root = root
        self.quota_bytes = quota_bytes
        self.warn_percent = warn_percent
        self.blobs = root / "blobs"
        self.tmp = root / "tmp"
        self.quarantine_dir = root / "quarantine"
        for directory in (root, self.blobs, self.tmp, self.quarantine_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Used from the event loop and from sealing/hashing worker threads: one lock.
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            root / "outbox.sqlite", isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(packets)")}
        if "case_digest" not in columns:  # an outbox of schema 1
            self._db.execute("ALTER TABLE packets ADD COLUMN case_digest TEXT")
        self._db.execute("CREATE INDEX IF NOT EXISTS packets_case ON packets (case_digest)")
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._recover()

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ writing

    def add(
        self,
        packet_id: str,
        write: Callable[[BinaryIO], tuple[int, str]],
        *,
        case_digest: str | None = None,
    ) -> OutboxEntry:
        """Store a packet: ``write(file)`` seals into the file and returns (size, sha256).

        ``case_digest`` is the keyed hash of the packet's case reference (never the
        reference itself), kept with the row and its tombstone for :meth:`case_history`.
        """
        if self._row(packet_id) is not None:
            raise OutboxError(f"packet {packet_id} is already in the outbox")
        status = self.status()
        if status.full:
            raise OutboxFull(
                "the outbox is full: captures cannot be saved until the kiosk is back online "
                "and has delivered its backlog (call a technician if this persists)"
            )
        part = self.tmp / f"{packet_id}.part"
        final = self._blob(packet_id)
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                size, sha256 = write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(part, final)
            fsync_directory(self.blobs)
        except OSError as exc:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            if exc.errno in (28, 122):  # ENOSPC, EDQUOT
                raise OutboxFull("the disk is full: the capture was not saved") from None
            raise OutboxError(f"cannot write the packet: {exc.strerror}") from None
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            raise
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO packets"
                " (packet_id, state, size, sha256, created_at, updated_at, case_digest)"
                " VALUES (?, 'queued', ?, ?, ?, ?, ?)",
                (packet_id, size, sha256, now, now, case_digest),
            )
        logger.info("outbox: queued packet (%d bytes)", size)
        return OutboxEntry(packet_id, "queued", size, sha256, now, 0, final)

    # ----------------------------------------------------------------- uploading

    @_locked
    def claim(self, limit: int = 1) -> list[OutboxEntry]:
        """Oldest queued packets, now marked ``uploading``."""
        rows = self._db.execute(
            "SELECT packet_id, size, sha256, created_at, attempts FROM packets"
            " WHERE state = 'queued' ORDER BY created_at LIMIT ?",
            (limit,),
        ).fetchall()
        claimed = []
        for packet_id, size, sha256, created_at, attempts in rows:
            self._set_state(packet_id, "uploading", attempts=attempts + 1)
            claimed.append(
                OutboxEntry(
                    packet_id,
                    "uploading",
                    size,
                    sha256,
                    created_at,
                    attempts + 1,
                    self._blob(packet_id),
                )
            )
        return claimed

    @_locked
    def release(self, packet_id: str, error: str) -> None:
        """Upload failed for now: back to the queue (the error is kept for status pages)."""
        self._set_state(packet_id, "queued", error=error)

    def verify_blob(self, entry: OutboxEntry) -> bool:
        """Check the blob's size and SHA-256; quarantine it on mismatch."""
        digest = hashlib.sha256()
        size = 0
        try:
            with entry.path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
                    size += len(block)
        except OSError as exc:
            self.quarantine(entry.packet_id, f"blob unreadable: {exc.strerror}")
            return False
        if size != entry.size or digest.hexdigest() != entry.sha256:
            self.quarantine(entry.packet_id, "blob does not match its recorded SHA-256")
            return False
        return True

    @_locked
    def commit(self, packet_id: str, receipt: bytes) -> None:
        """Central's receipt was verified: record it, then delete the blob (tombstone)."""
        self._db.execute(
            "UPDATE packets SET state = 'committed', receipt = ?, updated_at = ?, error = NULL"
            " WHERE packet_id = ?",
            (receipt, time.time(), packet_id),
        )
        self._purge(packet_id)

    @_locked
    def quarantine(self, packet_id: str, reason: str) -> None:
        blob = self._blob(packet_id)
        if blob.exists():
            os.replace(blob, self.quarantine_dir / blob.name)
            fsync_directory(self.quarantine_dir)
        self._set_state(packet_id, "quarantined", error=reason)
        logger.error("outbox: packet quarantined: %s", reason)

    # ------------------------------------------------------------------- queries

    @_locked
    def status(self) -> OutboxStatus:
        depth, total, oldest = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(created_at) FROM packets"
            " WHERE state IN ('queued', 'uploading')"
        ).fetchone()
        committed = self._db.execute(
            "SELECT COUNT(*) FROM packets WHERE state IN ('committed', 'purged')"
        ).fetchone()[0]
        quarantined = self._db.execute(
            "SELECT COUNT(*) FROM packets WHERE state = 'quarantined'"
        ).fetchone()[0]
        used = int(total) + sum(p.stat().st_size for p in self.tmp.iterdir())
        return OutboxStatus(
            depth=int(depth),
            bytes=int(total),
            oldest_age_s=max(0.0, time.time() - oldest) if oldest else 0.0,
            committed_total=int(committed),
            quarantined=int(quarantined),
            quota_bytes=self.quota_bytes,
            warn=used * 100 >= self.quota_bytes * self.warn_percent,
            full=used >= self.quota_bytes,
        )

    @_locked
    def state_of(self, packet_id: str) -> str | None:
        row = self._row(packet_id)
        return None if row is None else str(row[0])

    @_locked
    def receipt_of(self, packet_id: str) -> bytes | None:
        row = self._db.execute(
            "SELECT receipt FROM packets WHERE packet_id = ?", (packet_id,)
        ).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def entries(self, state: str) -> Iterator[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT packet_id FROM packets WHERE state = ? ORDER BY created_at", (state,)
            ).fetchall()
        for (packet_id,) in rows:
            yield packet_id

    @_locked
    def case_history(self, case_digest: str) -> list[tuple[str, str, float, float]]:
        """(packet_id, state, created_at, updated_at) of every row for this case digest."""
        rows = self._db.execute(
            "SELECT packet_id, state, created_at, updated_at FROM packets"
            " WHERE case_digest = ? ORDER BY created_at",
            (case_digest,),
        ).fetchall()
        return [(str(p), str(s), float(c), float(u)) for p, s, c, u in rows]

    @_locked
    def last_delivery_at(self) -> float | None:
        """When central last acknowledged a packet of this kiosk (time.time()), if ever."""
        row = self._db.execute(
            "SELECT MAX(updated_at) FROM packets WHERE state IN ('committed', 'purged')"
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    @_locked
    def expire_tombstones(self, retention_s: float) -> int:
        """Forget delivered packets' ids and receipts older than ``retention_s``."""
        cursor = self._db.execute(
            "DELETE FROM packets WHERE state = 'purged' AND updated_at < ?",
            (time.time() - retention_s,),
        )
        return cursor.rowcount

    # ------------------------------------------------------------------ internals

    def _blob(self, packet_id: str) -> Path:
        if "/" in packet_id or packet_id.startswith("."):
            raise OutboxError("invalid packet id")
        return self.blobs / f"{packet_id}.pkt"

    def _row(self, packet_id: str) -> tuple[str] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT state FROM packets WHERE packet_id = ?", (packet_id,)
            ).fetchone()
        return None if row is None else (str(row[0]),)

    def _set_state(
        self, packet_id: str, state: str, *, attempts: int | None = None, error: str | None = None
    ) -> None:
        if attempts is None:
            self._db.execute(
                "UPDATE packets SET state = ?, updated_at = ?, error = ? WHERE packet_id = ?",
                (state, time.time(), error, packet_id),
            )
        else:
            self._db.execute(
                "UPDATE packets SET state = ?, updated_at = ?, attempts = ? WHERE packet_id = ?",
                (state, time.time(), attempts, packet_id),
            )

    def _purge(self, packet_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._blob(packet_id).unlink()
        fsync_directory(self.blobs)
        self._db.execute(
            "UPDATE packets SET state = 'purged', updated_at = ? WHERE packet_id = ?",
            (time.time(), packet_id),
        )

    def _recover(self) -> None:
        for part in self.tmp.iterdir():
            part.unlink()  # never acknowledged: the capture is still with the operator
        self._db.execute("UPDATE packets SET state = 'queued' WHERE state = 'uploading'")
        for packet_id in list(self.entries("committed")):
            self._purge(packet_id)
        known = {row[0] for row in self._db.execute("SELECT packet_id FROM packets")}
        for blob in self.blobs.glob("*.pkt"):
            packet_id = blob.stem
            if packet_id in known:
                continue
            digest = hashlib.sha256()
            with blob.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
            now = blob.stat().st_mtime
            self._db.execute(
                "INSERT INTO packets (packet_id, state, size, sha256, created_at, updated_at)"
                " VALUES (?, 'queued', ?, ?, ?, ?)",
                (packet_id, blob.stat().st_size, digest.hexdigest(), now, time.time()),
            )
            logger.warning("outbox: recovered a packet written before a crash")
