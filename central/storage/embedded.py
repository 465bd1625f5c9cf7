"""The embedded back end: :class:`ReceiverStore` (SQLite + files) behind the async interface.

One process only: the per-packet locks here are in-process, which is exactly
right for a single receiver and is why the distributed back end exists for more.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from central.keyed_lock import KeyedLocks
from central.storage.audit import AuditStore
from central.storage.base import (
    HeartbeatRecord,
    StagedCopy,
    StoredPacket,
    TokenState,
    UploadInfo,
)
from central.storage.sqlite_audit import SqliteAuditStore
from central.storage.sqlite_files import ReceiverStore


class EmbeddedStorage:
    backend = "embedded"

    def __init__(self, root: Path) -> None:
        self.store = ReceiverStore(root)
        self.audit: AuditStore = SqliteAuditStore(self.store.db)
        self._locks = KeyedLocks()

    async def upload_info(self, packet_id: str) -> UploadInfo | None:
        info = self.store.upload_info(packet_id)
        if info is None:
            return None
        return UploadInfo(info[0], info[1], info[2], self.store.committed_size(packet_id))

    async def begin_upload(
        self, packet_id: str, device_id: str, total_size: int, sha256: str
    ) -> UploadInfo:
        self.store.begin_upload(packet_id, device_id, total_size, sha256)
        info = await self.upload_info(packet_id)
        assert info is not None
        return info

    async def append(self, packet_id: str, offset: int, data: bytes) -> int:
        async with self._locks.hold(packet_id):
            return await asyncio.to_thread(self.store.append, packet_id, offset, data)

    @contextlib.asynccontextmanager
    async def staged_copy(self, packet_id: str) -> AsyncIterator[StagedCopy]:
        path = self.store.staged_path(packet_id)
        sha = await asyncio.to_thread(self.store.staged_sha256, packet_id)
        yield StagedCopy(path, sha, path.stat().st_size)

    async def discard_staged(self, packet_id: str) -> None:
        self.store.discard_staged(packet_id)

    async def committed(self, packet_id: str) -> StoredPacket | None:
        return self.store.committed(packet_id)

    async def store_packet(
        self,
        staged: StagedCopy,
        packet_id: str,
        device_id: str,
        receipt: bytes,
        manifest_json: str,
    ) -> StoredPacket:
        """Move the verified upload into packets/ and index it (the first caller wins)."""
        async with self._locks.hold(packet_id):
            existing = self.store.committed(packet_id)
            if existing is not None:
                return existing
            await asyncio.to_thread(self.store.move_to_packets, packet_id)
            self.store.index(
                packet_id, device_id, staged.size, staged.sha256, receipt, manifest_json
            )
            stored = self.store.committed(packet_id)
            assert stored is not None
            return stored

    async def count_repeat_commit(self, packet_id: str) -> None:
        self.store.count_repeat_commit(packet_id)

    async def packets_with_manifests(self) -> list[tuple[StoredPacket, dict[str, Any]]]:
        return self.store.all_packets_with_manifests()

    async def add_token(self, token: str) -> None:
        self.store.add_token(token)

    async def token_state(self, token: str) -> TokenState | None:
        state = self.store.token_state(token)
        return None if state is None else TokenState(*state)

    async def use_token(
        self, token: str, device_id: str, key_sha256: str, response: bytes
    ) -> TokenState:
        self.store.use_token(token, device_id, key_sha256, response)
        state = self.store.token_state(token)
        assert state is not None
        return TokenState(*state)

    async def register_device(
        self, device_id: str, serial: int, site_id: str, certificate_der: bytes
    ) -> None:
        self.store.register_device(device_id, serial, site_id, certificate_der)

    async def revoke(self, *, serial: int | None = None, device_id: str | None = None) -> int:
        return self.store.revoke(serial=serial, device_id=device_id)

    async def revoked_serials(self) -> dict[int, dt.datetime]:
        return self.store.revoked_serials()

    async def device_site(self, device_id: str) -> str | None:
        return self.store.device_site(device_id)

    async def record_heartbeat(self, record: HeartbeatRecord) -> None:
        self.store.record_heartbeat(record)

    async def check(self) -> dict[str, bool]:
        return {"database": True, "objects": self.store.packets.is_dir()}

    async def close(self) -> None:
        self.store.close()
