"""One storage interface for the reference central service, whatever the back end.

The receiver's servicers talk only to :class:`CentralStorage`. Two back ends
implement it:

- ``embedded`` (:mod:`central.storage.embedded`): SQLite + a local directory, one
  process; the default for ``make run``, the demo and most tests;
- ``distributed`` (:mod:`central.storage.distributed`): PostgreSQL (psycopg 3 async
  pool) for every index and S3-compatible object storage for upload parts and
  sealed packets, so any number of stateless receiver replicas share one state.

Rules every back end keeps:

- ``append`` acknowledges bytes only once they are durable, and only when
  ``offset`` equals the committed size (optimistic: a stale writer gets the
  current size back and nothing changes);
- ``store`` makes the sealed packet durable *before* it records the packet, and
  returns the winning row when two callers race on one packet id, so every caller
  returns the same receipt;
- a back end that cannot reach its database or object store raises
  :class:`StorageUnavailable` (the servicer answers ``UNAVAILABLE``; the kiosk retries).
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from central.storage.audit import AuditStore

MAX_PACKET_BYTES = 512 << 20


class StorageUnavailable(Exception):
    """The database or the object store cannot be reached; retry later."""

    def __init__(self, component: str, detail: str) -> None:
        super().__init__(f"{component} unavailable: {detail}")
        self.component = component


class StagedGone(Exception):
    """An upload vanished while being read (another replica committed it meanwhile)."""


@dataclass(frozen=True)
class StoredPacket:
    packet_id: str
    device_id: str
    size: int
    sha256: str
    receipt: bytes
    commits: int


@dataclass(frozen=True)
class UploadInfo:
    device_id: str
    total_size: int
    sha256: str
    committed_size: int


@dataclass(frozen=True)
class TokenState:
    used: bool
    csr_key_sha256: str | None
    response: bytes | None


@dataclass(frozen=True)
class HeartbeatRecord:
    device_id: str
    received_at: dt.datetime
    software_version: str
    outbox_depth: int
    outbox_quarantined: int


@dataclass(frozen=True)
class StagedCopy:
    """A complete upload as a local file (verified by the caller before use)."""

    path: Path
    sha256: str
    size: int
    #: Distributed back end: the one object holding every byte, when there is one
    #: (then the store copies it server-side instead of uploading the file again).
    source_key: str | None = None


class CentralStorage(Protocol):
    """Everything the receiver keeps. Every method may raise :class:`StorageUnavailable`."""

    backend: str
    #: Kiosks' records of operations and daily ledgers (central/storage/audit.py).
    audit: AuditStore

    # uploads in progress
    async def upload_info(self, packet_id: str) -> UploadInfo | None: ...

    async def begin_upload(
        self, packet_id: str, device_id: str, total_size: int, sha256: str
    ) -> UploadInfo: ...

    async def append(self, packet_id: str, offset: int, data: bytes) -> int: ...

    def staged_copy(self, packet_id: str) -> AbstractAsyncContextManager[StagedCopy]: ...

    async def discard_staged(self, packet_id: str) -> None: ...

    # accepted packets
    async def committed(self, packet_id: str) -> StoredPacket | None: ...

    async def store_packet(
        self,
        staged: StagedCopy,
        packet_id: str,
        device_id: str,
        receipt: bytes,
        manifest_json: str,
    ) -> StoredPacket: ...

    async def count_repeat_commit(self, packet_id: str) -> None: ...

    async def packets_with_manifests(self) -> list[tuple[StoredPacket, dict[str, Any]]]:
        """Every accepted packet with its verified manifest (reports, audits)."""
        ...

    # enrolment tokens and the device registry
    async def add_token(self, token: str) -> None: ...

    async def token_state(self, token: str) -> TokenState | None: ...

    async def use_token(
        self, token: str, device_id: str, key_sha256: str, response: bytes
    ) -> TokenState: ...

    async def register_device(
        self, device_id: str, serial: int, site_id: str, certificate_der: bytes
    ) -> None: ...

    async def revoke(self, *, serial: int | None = None, device_id: str | None = None) -> int: ...

    async def device_site(self, device_id: str) -> str | None:
        """The site the device was last enrolled for (None: unknown device)."""
        ...

    async def revoked_serials(self) -> dict[int, dt.datetime]: ...

    # heartbeats
    async def record_heartbeat(self, record: HeartbeatRecord) -> None: ...

    # operations
    async def check(self) -> dict[str, bool]: ...

    async def close(self) -> None: ...
