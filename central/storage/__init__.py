"""Storage of the reference central service: one interface, embedded or distributed.

:func:`open_storage` picks the back end: with ``database`` and ``objects`` it is
PostgreSQL + S3 (:mod:`central.storage.distributed`), otherwise SQLite + files
under the state directory (:mod:`central.storage.embedded`).
"""

from __future__ import annotations

from pathlib import Path

from central.storage.base import (
    MAX_PACKET_BYTES,
    CentralStorage,
    HeartbeatRecord,
    StagedCopy,
    StagedGone,
    StorageUnavailable,
    StoredPacket,
    TokenState,
    UploadInfo,
)

__all__ = [
    "MAX_PACKET_BYTES",
    "CentralStorage",
    "HeartbeatRecord",
    "StagedCopy",
    "StagedGone",
    "StorageUnavailable",
    "StoredPacket",
    "TokenState",
    "UploadInfo",
    "open_storage",
]


async def open_storage(
    state_dir: Path, *, database: str | None = None, objects: str | None = None
) -> CentralStorage:
    """The embedded store under ``state_dir/store``, or PostgreSQL + S3 when both are given."""
    if (database is None) != (objects is None):
        raise ValueError("--database and --objects go together (PostgreSQL index + S3 objects)")
    if database is not None and objects is not None:
        from central.storage.distributed import DistributedStorage

        distributed = DistributedStorage(database, objects)
        await distributed.open()
        return distributed
    from central.storage.embedded import EmbeddedStorage

    return EmbeddedStorage(state_dir / "store")
