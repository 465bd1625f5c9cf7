"""``PacketUploadService``: resumable Write, QueryWriteStatus and idempotent Commit.

Stateless over :class:`~central.storage.CentralStorage`: any replica can take any
call for any packet. A Write stream buffers what it receives and makes it durable
in one storage append per 4 MiB, per half second, and at the end of the stream
(only durable bytes are ever reported as committed; a broken stream loses at
most what was buffered, which the kiosk re-sends after QueryWriteStatus).

The in-process per-packet locks only spare a replica from doing the same Commit
twice at once; correctness across replicas comes from the storage's
compare-and-set and primary keys. The locks exist only while in use.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aima.enrolment.v1 import packet_upload_pb2, packet_upload_pb2_grpc
from central.keyed_lock import KeyedLocks
from central.peer import authenticated_device, packet_id_of, rfc3339_millis, timestamp
from central.rpc_errors import abort
from central.state import ReceiverState
from central.storage import MAX_PACKET_BYTES, StagedGone, StoredPacket
from packet.errors import CertificateInvalid, PacketError
from packet.open import OpenedPacket, open_packet
from packet.receipts import SignedReceipt, sign_receipt

logger = logging.getLogger(__name__)

#: Largest ``data`` of one WriteRequest (the contract's 4 MiB).
MAX_CHUNK = 4 << 20
#: A Write stream's bytes are made durable (and acknowledgeable) once this many are
#: buffered, once the oldest buffered byte is this old, and at the end of the stream.
FLUSH_BYTES = 4 << 20
FLUSH_AFTER_S = 0.5


@dataclass
class _Pending:
    """Bytes of one packet received on one Write stream, not yet durable."""

    packet_id: str
    total_size: int
    durable: int
    chunks: list[bytes] = field(default_factory=list)
    buffered: int = 0
    since: float = 0.0

    @property
    def end(self) -> int:
        return self.durable + self.buffered

    def add(self, data: bytes) -> None:
        if not self.chunks:
            self.since = time.monotonic()
        self.chunks.append(data)
        self.buffered += len(data)

    def due(self) -> bool:
        return self.buffered >= FLUSH_BYTES or time.monotonic() - self.since >= FLUSH_AFTER_S


class UploadServicer(packet_upload_pb2_grpc.PacketUploadServiceServicer):
    def __init__(self, state: ReceiverState) -> None:
        self._state = state
        self._commit_locks = KeyedLocks()

    async def Write(self, request_iterator: AsyncIterator[Any], context: Any) -> Any:
        device_id = await authenticated_device(self._state, context)
        pending: _Pending | None = None
        committed = 0
        async for request in request_iterator:
            packet_id = await packet_id_of(request.packet_id, context)
            if pending is None or pending.packet_id != packet_id:
                if pending is not None:
                    committed = await self._flush(pending, context)
                pending = await self._begin(packet_id, device_id, request, context)
                committed = pending.durable
            if len(request.data) > MAX_CHUNK or request.write_offset < 0:
                await abort(context, "INVALID_UPLOAD", "chunk too large or negative offset")
            if request.write_offset + len(request.data) > pending.total_size:
                await abort(context, "INVALID_UPLOAD", "data beyond total_size")
            if request.write_offset != pending.end:
                committed = await self._flush(pending, context)
                await abort(
                    context,
                    "OFFSET_MISMATCH",
                    f"committed_size={committed}",
                    committed_size=str(committed),
                )
            pending.add(request.data)
            if pending.due():
                committed = await self._flush(pending, context)
        if pending is not None:
            committed = await self._flush(pending, context)
        return packet_upload_pb2.WriteResponse(committed_size=committed)

    async def _begin(self, packet_id: str, device_id: str, request: Any, context: Any) -> _Pending:
        storage = self._state.storage
        if await storage.committed(packet_id) is not None:
            await abort(context, "ALREADY_COMMITTED", "already committed: Commit again")
        info = await storage.upload_info(packet_id)
        if info is None:
            if not 0 < request.total_size <= MAX_PACKET_BYTES:
                await abort(context, "INVALID_UPLOAD", "bad total_size")
            if len(request.sha256_hex) != 64 or not _is_hex(request.sha256_hex):
                await abort(context, "INVALID_UPLOAD", "bad sha256_hex")
            info = await storage.begin_upload(
                packet_id, device_id, request.total_size, request.sha256_hex.lower()
            )
            self._state.metrics.uploads_started.inc()
        if info.device_id != device_id:
            await abort(context, "DEVICE_MISMATCH", "packet of another device")
        return _Pending(packet_id, info.total_size, info.committed_size)

    async def _flush(self, pending: _Pending, context: Any) -> int:
        """Make the buffered bytes durable; the committed size afterwards."""
        if not pending.chunks:
            return pending.durable
        data = b"".join(pending.chunks)
        committed = await self._state.storage.append(pending.packet_id, pending.durable, data)
        pending.chunks.clear()
        pending.buffered = 0
        if committed != pending.durable + len(data):  # another writer moved it meanwhile
            await abort(
                context,
                "OFFSET_MISMATCH",
                f"committed_size={committed}",
                committed_size=str(committed),
            )
        pending.durable = committed
        self._state.metrics.upload_bytes.inc(len(data))
        return committed

    async def QueryWriteStatus(self, request: Any, context: Any) -> Any:
        await authenticated_device(self._state, context)
        packet_id = await packet_id_of(request.packet_id, context)
        storage = self._state.storage
        stored = await storage.committed(packet_id)
        if stored is not None:
            return packet_upload_pb2.QueryWriteStatusResponse(
                committed_size=stored.size, complete=True, committed=True
            )
        info = await storage.upload_info(packet_id)
        if info is None:
            return packet_upload_pb2.QueryWriteStatusResponse(committed_size=0)
        return packet_upload_pb2.QueryWriteStatusResponse(
            committed_size=info.committed_size, complete=info.committed_size == info.total_size
        )

    async def Commit(self, request: Any, context: Any) -> Any:
        device_id = await authenticated_device(self._state, context)
        packet_id = await packet_id_of(request.packet_id, context)
        async with self._commit_locks.hold(packet_id):
            stored = await self._commit(packet_id, device_id, request.sha256_hex.lower(), context)
        return _commit_response(packet_id, stored.receipt)

    async def _repeat(self, stored: StoredPacket, device_id: str, context: Any) -> StoredPacket:
        if stored.device_id != device_id:
            await abort(context, "DEVICE_MISMATCH", "packet of another device")
        await self._state.storage.count_repeat_commit(stored.packet_id)
        self._state.metrics.commits.labels(result="repeat").inc()
        return stored

    async def _commit(
        self, packet_id: str, device_id: str, sha256_hex: str, context: Any
    ) -> StoredPacket:
        state, storage = self._state, self._state.storage
        stored = await storage.committed(packet_id)
        if stored is not None:
            return await self._repeat(stored, device_id, context)
        info = await storage.upload_info(packet_id)
        if info is None:
            stored = await storage.committed(packet_id)  # a racing replica just committed it
            if stored is not None:
                return await self._repeat(stored, device_id, context)
            await abort(context, "NOTHING_UPLOADED", "nothing uploaded")
        if info.device_id != device_id:
            await abort(context, "DEVICE_MISMATCH", "packet of another device")
        if info.committed_size != info.total_size:
            await abort(context, "UPLOAD_INCOMPLETE", f"only {info.committed_size} bytes written")
        try:
            async with storage.staged_copy(packet_id) as staged:
                if staged.sha256 != info.sha256 or staged.sha256 != sha256_hex:
                    await storage.discard_staged(packet_id)
                    await abort(context, "CHECKSUM_MISMATCH", "SHA-256 mismatch; upload again")
                opened = await self._verified(staged.path, packet_id, device_id, context)
                state.sink.accepted(opened, staged.path)
                receipt = sign_receipt(
                    state.signer_key,
                    state.signer_cert,
                    packet_id=packet_id,
                    device_id=device_id,
                    sha256_hex=staged.sha256,
                    size=staged.size,
                    accepted_at=rfc3339_millis(dt.datetime.now(dt.UTC)),
                ).to_bytes()
                manifest = json.dumps(json.loads(opened.manifest_bytes))
                stored = await storage.store_packet(staged, packet_id, device_id, receipt, manifest)
        except StagedGone:
            # Another replica committed this packet while we read its parts.
            stored = await storage.committed(packet_id)
            if stored is None:
                await abort(context, "UPLOAD_INCOMPLETE", "upload changed; query and resume")
            return await self._repeat(stored, device_id, context)
        if stored.receipt != receipt:  # lost a commit race: the winner's receipt stands
            return await self._repeat(stored, device_id, context)
        state.commits += 1
        state.metrics.commits.labels(result="accepted").inc()
        state.metrics.accepted.inc()
        logger.info("accepted a packet from %s", device_id)
        return stored

    async def _verified(
        self, path: Path, packet_id: str, device_id: str, context: Any
    ) -> OpenedPacket:
        storage = self._state.storage
        trust = await self._state.trust_store()
        try:
            opened = await asyncio.to_thread(self._open, path, packet_id, trust)
        except CertificateInvalid as exc:
            await storage.discard_staged(packet_id)
            await abort(
                context, "CERTIFICATE_INVALID", f"{exc.code}: {exc}", certificate_error=exc.code
            )
        except PacketError as exc:
            await storage.discard_staged(packet_id)
            await abort(context, "PACKET_REJECTED", f"{exc.code}: {exc}", packet_error=exc.code)
        if opened.manifest.device_id != device_id or opened.header.packet_id != packet_id:
            await storage.discard_staged(packet_id)
            await abort(
                context,
                "DEVICE_MISMATCH",
                "packet was sealed by another device or under another id",
            )
        return opened

    def _open(self, path: Path, packet_id: str, trust: Any) -> OpenedPacket:
        with path.open("rb") as handle:
            return open_packet(
                handle, self._state.keyring, trust, self._state.sink.item_sink(packet_id)
            )


def _is_hex(value: str) -> bool:
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True


def _commit_response(packet_id: str, receipt_bytes: bytes) -> Any:
    receipt = SignedReceipt.from_bytes(receipt_bytes)
    fields = json.loads(receipt.payload)
    accepted = dt.datetime.fromisoformat(fields["accepted_at"])
    return packet_upload_pb2.CommitResponse(
        receipt=packet_upload_pb2.Receipt(
            signed_payload=receipt.payload,
            signature=receipt.signature,
            signer_certificate_sha256_hex=receipt.signer_sha256,
            packet_id=packet_id,
            accepted_at=timestamp(accepted),
        )
    )
