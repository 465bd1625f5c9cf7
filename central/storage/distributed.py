"""The distributed back end: PostgreSQL index + S3 objects, shared by stateless replicas.

Object keys (under the location's prefix):

- ``parts/<packet_id>/<offset:020d>-<nonce>``: one acknowledged Write chunk; the
  nonce keeps a losing concurrent writer from overwriting the winner's bytes;
- ``packets/<packet_id>.pkt``: the sealed packet once accepted.

Write: PUT the part, then compare-and-set the committed size in PostgreSQL (the
part is acknowledged only if that matched; otherwise it is deleted and the
current size returned). Commit: assemble the parts into a local file while
hashing, verify, PUT ``packets/<id>.pkt`` and only then insert the packet row: no
receipt exists for a packet that is not durable in the object store.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from central.storage.audit import AuditStore
from central.storage.base import (
    HeartbeatRecord,
    StagedCopy,
    StagedGone,
    StoredPacket,
    TokenState,
    UploadInfo,
)
from central.storage.postgres import PostgresIndex
from central.storage.postgres_audit import PostgresAuditStore
from central.storage.s3 import ObjectLocation, ObjectMissing, ObjectStore

logger = logging.getLogger(__name__)


class DistributedStorage:
    backend = "distributed"

    def __init__(
        self,
        database: str,
        objects: str,
        *,
        scratch: Path | None = None,
        pool_size: int = 16,
    ) -> None:
        self.index = PostgresIndex(database, max_size=pool_size)
        self.audit: AuditStore = PostgresAuditStore(self.index)
        self.objects = ObjectStore(ObjectLocation.parse(objects))
        self._scratch = scratch

    async def open(self) -> None:
        await self.index.open()
        await self.objects.ensure_bucket()

    async def close(self) -> None:
        await self.index.close()

    @staticmethod
    def packet_key_name(packet_id: str) -> str:
        return f"packets/{packet_id}.pkt"

    # ----------------------------------------------------------------- uploads

    async def upload_info(self, packet_id: str) -> UploadInfo | None:
        return await self.index.upload_info(packet_id)

    async def begin_upload(
        self, packet_id: str, device_id: str, total_size: int, sha256: str
    ) -> UploadInfo:
        return await self.index.begin_upload(packet_id, device_id, total_size, sha256)

    async def append(self, packet_id: str, offset: int, data: bytes) -> int:
        info = await self.index.upload_info(packet_id)
        if info is None or info.committed_size != offset or not data:
            return offset if info is None else info.committed_size
        key = self.objects.key(f"parts/{packet_id}/{offset:020d}-{secrets.token_hex(6)}")
        await self.objects.put_bytes(key, data)
        committed = await self.index.advance(packet_id, offset, len(data), key)
        if committed is None:  # another writer advanced first: ours is garbage
            await self.objects.delete([key])
            info = await self.index.upload_info(packet_id)
            return 0 if info is None else info.committed_size
        return committed

    @contextlib.asynccontextmanager
    async def staged_copy(self, packet_id: str) -> AsyncIterator[StagedCopy]:
        """Assemble the parts into a scratch file while hashing.

        Raises :class:`StagedGone` when the upload changes underneath (a racing replica
        committed it and freed its parts): the caller then returns that commit's receipt.
        """
        info = await self.index.upload_info(packet_id)
        if info is None:
            raise StagedGone(packet_id)
        parts = await self.index.parts(packet_id)
        if sum(length for _, length, _ in parts) != info.committed_size:
            raise StagedGone(packet_id)
        fd, name = tempfile.mkstemp(prefix="commit-", suffix=".pkt", dir=self._scratch)
        path = Path(name)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as handle:
                for offset, length, key in parts:
                    if offset != size:
                        raise StagedGone(packet_id)
                    try:
                        data = await self.objects.get_bytes(key, max_bytes=length)
                    except ObjectMissing:
                        raise StagedGone(packet_id) from None
                    if len(data) != length:
                        raise StagedGone(packet_id)
                    digest.update(data)
                    await asyncio.to_thread(handle.write, data)
                    size += length
            source = parts[0][2] if len(parts) == 1 else None
            yield StagedCopy(path, digest.hexdigest(), size, source)
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def discard_staged(self, packet_id: str) -> None:
        keys = await self.index.drop_upload(packet_id)
        await self.objects.delete(keys)

    # ----------------------------------------------------------------- packets

    async def committed(self, packet_id: str) -> StoredPacket | None:
        return await self.index.committed(packet_id)

    async def store_packet(
        self,
        staged: StagedCopy,
        packet_id: str,
        device_id: str,
        receipt: bytes,
        manifest_json: str,
    ) -> StoredPacket:
        key = self.objects.key(self.packet_key_name(packet_id))
        copied = False
        if staged.source_key is not None:
            try:
                await self.objects.copy(staged.source_key, key)
                copied = True
            except ObjectMissing:  # a racing replica committed and freed the part
                pass
        if not copied:
            await self.objects.put_file(key, staged.path)  # durable before any receipt exists
        candidate = StoredPacket(packet_id, device_id, staged.size, staged.sha256, receipt, 1)
        stored, freed = await self.index.insert_packet(candidate, key, manifest_json)
        await self.objects.delete(freed)
        return stored

    async def count_repeat_commit(self, packet_id: str) -> None:
        await self.index.count_repeat_commit(packet_id)

    async def packets_with_manifests(self) -> list[tuple[StoredPacket, dict[str, Any]]]:
        return await self.index.packets_with_manifests()

    # ------------------------------------------------------ tokens and devices

    async def add_token(self, token: str) -> None:
        await self.index.add_token(token)

    async def token_state(self, token: str) -> TokenState | None:
        return await self.index.token_state(token)

    async def use_token(
        self, token: str, device_id: str, key_sha256: str, response: bytes
    ) -> TokenState:
        return await self.index.use_token(token, device_id, key_sha256, response)

    async def register_device(
        self, device_id: str, serial: int, site_id: str, certificate_der: bytes
    ) -> None:
        await self.index.register_device(device_id, serial, site_id, certificate_der)

    async def revoke(self, *, serial: int | None = None, device_id: str | None = None) -> int:
        return await self.index.revoke(serial=serial, device_id=device_id)

    async def revoked_serials(self) -> dict[int, dt.datetime]:
        return await self.index.revoked_serials()

    async def device_site(self, device_id: str) -> str | None:
        return await self.index.device_site(device_id)

    async def record_heartbeat(self, record: HeartbeatRecord) -> None:
        await self.index.record_heartbeat(record)

    async def check(self) -> dict[str, bool]:
        return {"database": await self.index.ping(), "objects": await self.objects.ping()}
