"""The embedded store: upload staging and sealed packets in a directory, a SQLite index.

Bytes are appended to ``staging/<packet_id>.part`` and fsynced before a Write
is acknowledged, so ``committed_size`` never overstates what is durable. On
commit the packet is opened and verified, moved to ``packets/`` and indexed
with its receipt; a second commit of the same id returns the stored receipt.

This class is synchronous and single-process; :class:`central.storage.embedded.
EmbeddedStorage` puts the async :class:`~central.storage.base.CentralStorage`
interface in front of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from central.storage.base import MAX_PACKET_BYTES, HeartbeatRecord, StoredPacket

__all__ = ["MAX_PACKET_BYTES", "ReceiverStore", "StoredPacket"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS packets (
    packet_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, size INTEGER NOT NULL,
    sha256 TEXT NOT NULL, receipt BLOB NOT NULL, manifest TEXT NOT NULL,
    committed_at REAL NOT NULL, commits INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS uploads (
    packet_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, total_size INTEGER NOT NULL,
    sha256 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, used_by TEXT, csr_key_sha256 TEXT, response BLOB);
CREATE TABLE IF NOT EXISTS devices (
    serial TEXT PRIMARY KEY, device_id TEXT NOT NULL, site_id TEXT NOT NULL,
    certificate BLOB NOT NULL, enrolled_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS revocations (serial TEXT PRIMARY KEY, revoked_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS heartbeats (
    device_id TEXT PRIMARY KEY, received_at REAL NOT NULL, software_version TEXT NOT NULL,
    outbox_depth INTEGER NOT NULL, outbox_quarantined INTEGER NOT NULL);
"""


class ReceiverStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / "staging"
        self.packets = root / "packets"
        for directory in (root, self.staging, self.packets):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._db = sqlite3.connect(
            root / "index.sqlite", isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    @property
    def db(self) -> sqlite3.Connection:
        """The index connection (the audit tables live in the same database)."""
        return self._db

    def close(self) -> None:
        self._db.close()

    # ----------------------------------------------------------------- uploads

    def staged_path(self, packet_id: str) -> Path:
        return self.staging / f"{packet_id}.part"

    def committed_size(self, packet_id: str) -> int:
        path = self.staged_path(packet_id)
        return path.stat().st_size if path.exists() else 0

    def upload_info(self, packet_id: str) -> tuple[str, int, str] | None:
        row = self._db.execute(
            "SELECT device_id, total_size, sha256 FROM uploads WHERE packet_id = ?", (packet_id,)
        ).fetchone()
        return None if row is None else (row[0], int(row[1]), row[2])

    def begin_upload(self, packet_id: str, device_id: str, total_size: int, sha256: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO uploads (packet_id, device_id, total_size, sha256)"
            " VALUES (?, ?, ?, ?)",
            (packet_id, device_id, total_size, sha256),
        )

    def append(self, packet_id: str, offset: int, data: bytes) -> int:
        path = self.staged_path(packet_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            if offset != size:
                return size
            os.lseek(fd, offset, os.SEEK_SET)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
            return offset + len(data)
        finally:
            os.close(fd)

    def staged_sha256(self, packet_id: str) -> str:
        digest = hashlib.sha256()
        with self.staged_path(packet_id).open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
        return digest.hexdigest()

    def discard_staged(self, packet_id: str) -> None:
        self.staged_path(packet_id).unlink(missing_ok=True)
        self._db.execute("DELETE FROM uploads WHERE packet_id = ?", (packet_id,))

    # ----------------------------------------------------------------- commits

    def committed(self, packet_id: str) -> StoredPacket | None:
        row = self._db.execute(
            "SELECT packet_id, device_id, size, sha256, receipt, commits FROM packets"
            " WHERE packet_id = ?",
            (packet_id,),
        ).fetchone()
        if row is None:
            return None
        return StoredPacket(row[0], row[1], int(row[2]), row[3], bytes(row[4]), int(row[5]))

    def count_repeat_commit(self, packet_id: str) -> None:
        self._db.execute(
            "UPDATE packets SET commits = commits + 1 WHERE packet_id = ?", (packet_id,)
        )

    def move_to_packets(self, packet_id: str) -> None:
        """Make the staged bytes the durable sealed packet (rename + directory fsync)."""
        final = self.packets / f"{packet_id}.pkt"
        os.replace(self.staged_path(packet_id), final)
        fd = os.open(self.packets, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def index(
        self,
        packet_id: str,
        device_id: str,
        size: int,
        sha256: str,
        receipt: bytes,
        manifest_json: str,
    ) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO packets (packet_id, device_id, size, sha256, receipt,"
            " manifest, committed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (packet_id, device_id, size, sha256, receipt, manifest_json, time.time()),
        )
        self._db.execute("DELETE FROM uploads WHERE packet_id = ?", (packet_id,))

    def store(
        self,
        packet_id: str,
        device_id: str,
        size: int,
        sha256: str,
        receipt: bytes,
        manifest_json: str,
    ) -> None:
        self.move_to_packets(packet_id)
        self.index(packet_id, device_id, size, sha256, receipt, manifest_json)

    def all_packets(self) -> list[StoredPacket]:
        return [stored for stored, _ in self.all_packets_with_manifests()]

    def all_packets_with_cases(self) -> list[tuple[str, str]]:
        """(packet_id, case_reference) of every accepted packet."""
        return [
            (stored.packet_id, str(manifest.get("case_reference", "")))
            for stored, manifest in self.all_packets_with_manifests()
        ]

    def all_packets_with_manifests(self) -> list[tuple[StoredPacket, dict[str, Any]]]:
        """Every accepted packet with its (verified) manifest."""
        return [
            (StoredPacket(r[0], r[1], int(r[2]), r[3], bytes(r[4]), int(r[5])), json.loads(r[6]))
            for r in self._db.execute(
                "SELECT packet_id, device_id, size, sha256, receipt, commits, manifest FROM packets"
            )
        ]

    def add_token(self, token: str) -> None:
        self._db.execute("INSERT OR IGNORE INTO tokens (token) VALUES (?)", (token,))

    def token_state(self, token: str) -> tuple[bool, str | None, bytes | None] | None:
        row = self._db.execute(
            "SELECT used_by, csr_key_sha256, response FROM tokens WHERE token = ?", (token,)
        ).fetchone()
        if row is None:
            return None
        return (row[0] is not None, row[1], None if row[2] is None else bytes(row[2]))

    def use_token(self, token: str, device_id: str, key_sha256: str, response: bytes) -> None:
        """Mark the token used unless it already is (the first use wins)."""
        self._db.execute(
            "UPDATE tokens SET used_by = ?, csr_key_sha256 = ?, response = ?"
            " WHERE token = ? AND used_by IS NULL",
            (device_id, key_sha256, response, token),
        )

    # ------------------------------------------------- devices and revocations

    def register_device(
        self, device_id: str, serial: int, site_id: str, certificate_der: bytes
    ) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO devices (serial, device_id, site_id, certificate, enrolled_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (str(serial), device_id, site_id, certificate_der, time.time()),
        )

    def revoke(self, *, serial: int | None = None, device_id: str | None = None) -> int:
        serials = [] if serial is None else [str(serial)]
        if device_id is not None:
            serials += [
                r[0]
                for r in self._db.execute(
                    "SELECT serial FROM devices WHERE device_id = ?", (device_id,)
                )
            ]
        for value in serials:
            self._db.execute(
                "INSERT OR IGNORE INTO revocations (serial, revoked_at) VALUES (?, ?)",
                (value, time.time()),
            )
        return len(serials)

    def device_site(self, device_id: str) -> str | None:
        row = self._db.execute(
            "SELECT site_id FROM devices WHERE device_id = ? ORDER BY enrolled_at DESC LIMIT 1",
            (device_id,),
        ).fetchone()
        return None if row is None else str(row[0])

    def revoked_serials(self) -> dict[int, dt.datetime]:
        return {
            int(r[0]): dt.datetime.fromtimestamp(r[1], dt.UTC)
            for r in self._db.execute("SELECT serial, revoked_at FROM revocations")
        }

    def record_heartbeat(self, record: HeartbeatRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO heartbeats (device_id, received_at, software_version,"
            " outbox_depth, outbox_quarantined) VALUES (?, ?, ?, ?, ?)",
            (
                record.device_id,
                record.received_at.timestamp(),
                record.software_version,
                record.outbox_depth,
                record.outbox_quarantined,
            ),
        )
