"""The receiver's embedded storage: upload staging, sealed packets, a SQLite index.

Bytes are appended to ``staging/<packet_id>.part`` and fsynced before a Write
is acknowledged, so ``committed_size`` never overstates what is durable. On
commit the packet is opened and verified, moved to ``packets/`` and indexed
with its receipt; a second commit of the same id returns the stored receipt.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_PACKET_BYTES = 512 << 20


@dataclass(frozen=True)
class StoredPacket:
    packet_id: str
    device_id: str
    size: int
    sha256: str
    receipt: bytes
    commits: int


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
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS packets (
                packet_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, size INTEGER NOT NULL,
                sha256 TEXT NOT NULL, receipt BLOB NOT NULL, manifest TEXT NOT NULL,
                committed_at REAL NOT NULL, commits INTEGER NOT NULL DEFAULT 1);
            CREATE TABLE IF NOT EXISTS uploads (
                packet_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, total_size INTEGER NOT NULL,
                sha256 TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS tokens (
                token TEXT PRIMARY KEY, used_by TEXT, csr_key_sha256 TEXT, response BLOB);
            """
        )

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

    def store(
        self,
        packet_id: str,
        device_id: str,
        size: int,
        sha256: str,
        receipt: bytes,
        manifest_json: str,
    ) -> None:
        final = self.packets / f"{packet_id}.pkt"
        os.replace(self.staged_path(packet_id), final)
        fd = os.open(self.packets, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._db.execute(
            "INSERT INTO packets (packet_id, device_id, size, sha256, receipt, manifest,"
            " committed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (packet_id, device_id, size, sha256, receipt, manifest_json, time.time()),
        )
        self._db.execute("DELETE FROM uploads WHERE packet_id = ?", (packet_id,))

    def all_packets(self) -> list[StoredPacket]:
        return [
            StoredPacket(r[0], r[1], int(r[2]), r[3], bytes(r[4]), int(r[5]))
            for r in self._db.execute(
                "SELECT packet_id, device_id, size, sha256, receipt, commits FROM packets"
            )
        ]

    def all_packets_with_cases(self) -> list[tuple[str, str]]:
        """(packet_id, case_reference) of every accepted packet."""
        return [
            (stored.packet_id, str(manifest.get("case_reference", "")))
            for stored, manifest in self.all_packets_with_manifests()
        ]

    def all_packets_with_manifests(self) -> list[tuple[StoredPacket, dict[str, Any]]]:
        """Every accepted packet with its (verified) manifest."""
        import json

        return [
            (StoredPacket(r[0], r[1], int(r[2]), r[3], bytes(r[4]), int(r[5])), json.loads(r[6]))
            for r in self._db.execute(
                "SELECT packet_id, device_id, size, sha256, receipt, commits, manifest FROM packets"
            )
        ]

    # ------------------------------------------------------------------ tokens

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
        self._db.execute(
            "UPDATE tokens SET used_by = ?, csr_key_sha256 = ?, response = ? WHERE token = ?",
            (device_id, key_sha256, response, token),
        )
