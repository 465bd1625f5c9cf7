"""The audit store behaves the same on both back ends: embedded SQLite and real PostgreSQL.

Compare-and-set appends and checkpoint acceptance (two callers racing on one
position: one wins), flags once per kind and size, the highest ledger revision
kept, and receipts by commit time - the rules replicas rely on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from central.dev_engines import PG_BIN, PostgresServer
from central.storage.audit import AuditFlag, AuditStore, StoredLedger
from central.storage.base import StoredPacket
from transparency.merkle import CompactRange, leaf_hash

pytestmark = pytest.mark.timeout(180)

DEVICE = "dev-000000000001"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip("Debian's postgresql is not installed")
    root = Path(tempfile.mkdtemp(prefix="claim-audit-pg-"))  # the postgres user must reach it
    root.chmod(0o755)
    server = PostgresServer(root / "pg")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["embedded", "postgres"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[AuditStore, object]]:
    if request.param == "embedded":
        from central.storage.embedded import EmbeddedStorage

        embedded = EmbeddedStorage(tmp_path / "store")
        yield embedded.audit, embedded
        await embedded.close()
        return
    server = request.getfixturevalue("postgres")
    from central.storage.postgres import PostgresIndex
    from central.storage.postgres_audit import PostgresAuditStore

    index = PostgresIndex(server.url, min_size=1, max_size=4)
    await index.open()
    async with index.connection() as conn:
        for table in ("audit_entries", "audit_logs", "audit_flags", "audit_ledgers", "packets"):
            await conn.execute(f"DELETE FROM {table}")
        await conn.execute("DELETE FROM devices")
    yield PostgresAuditStore(index), index
    await index.close()


def _entries(first: int, count: int) -> tuple[list[bytes], list[bytes]]:
    entries = [b'{"i":%d}' % i for i in range(first, first + count)]
    return entries, [leaf_hash(e) for e in entries]


async def test_entries_are_appended_once_at_the_right_position(
    store: tuple[AuditStore, object],
) -> None:
    audit, _ = store
    entries, leaves = _entries(0, 3)
    frontier = CompactRange()
    for leaf in leaves:
        frontier.append(leaf)
    packed = b"".join(frontier.hashes())
    racing = await asyncio.gather(
        audit.append_entries(DEVICE, 0, entries, leaves, packed),
        audit.append_entries(DEVICE, 0, entries, leaves, packed),
    )
    assert sorted(racing) == [3, 3]
    assert await audit.append_entries(DEVICE, 1, *_entries(1, 2), b"") == 3  # stale: no change
    state = await audit.state(DEVICE)
    assert state.entries_held == 3 and state.frontier == packed
    assert await audit.leaf_hashes(DEVICE, 0, 3) == leaves
    assert await audit.entries(DEVICE, 1, 3) == entries[1:]
    assert (await audit.state("dev-unknown")).entries_held == 0


async def test_checkpoints_flags_and_ledgers(store: tuple[AuditStore, object]) -> None:
    audit, _ = store
    accepted = await asyncio.gather(
        audit.accept_checkpoint(DEVICE, 0, 3, b"r" * 32, "2026-11-23T10:00:00.000Z", b"note"),
        audit.accept_checkpoint(DEVICE, 0, 3, b"s" * 32, "2026-11-23T10:00:00.000Z", b"note2"),
    )
    assert sorted(accepted) == [False, True]
    assert not await audit.accept_checkpoint(DEVICE, 0, 4, b"t" * 32, "x", b"n")
    state = await audit.state(DEVICE)
    assert state.checkpoint_size == 3 and state.checkpoint_time == "2026-11-23T10:00:00.000Z"
    for _ in range(2):
        await audit.flag(AuditFlag(DEVICE, "truncated", 2, "smaller tree"))
    assert [f.kind for f in await audit.flags()] == ["truncated"]
    assert (await audit.state(DEVICE)).flagged
    ledger = StoredLedger(DEVICE, "2026-11-23", "CLAIM-T", 2, b"note-2", True, 3, (), ())
    assert (await audit.store_ledger(ledger)).revision == 2
    older = StoredLedger(DEVICE, "2026-11-23", "CLAIM-T", 1, b"note-1", False, 3, ("p",), ())
    held = await audit.store_ledger(older)
    assert held.revision == 2 and held.note == b"note-2" and held.matches
    newer = StoredLedger(DEVICE, "2026-11-23", "CLAIM-T", 3, b"note-3", False, 4, ("p",), ("q",))
    held = await audit.store_ledger(newer)
    assert (held.revision, held.missing_at_kiosk, held.unknown_at_central) == (3, ("p",), ("q",))
    assert [x.day for x in await audit.ledgers()] == ["2026-11-23"]


async def test_receipts_and_sites(store: tuple[AuditStore, object]) -> None:
    audit, backend = store
    packet_id = "0194a6c2-0000-7000-8000-000000000001"
    manifest = '{"case_reference": "X"}'
    if hasattr(backend, "store"):
        backend.store.index(packet_id, DEVICE, 10, "a" * 64, b"receipt", manifest)  # type: ignore[attr-defined]
        backend.store.register_device(DEVICE, 7, "CLAIM-T", b"der")  # type: ignore[attr-defined]
    else:
        stored = StoredPacket(packet_id, DEVICE, 10, "a" * 64, b"receipt", 1)
        await backend.insert_packet(stored, "packets/x", manifest)  # type: ignore[attr-defined]
        await backend.register_device(DEVICE, 7, "CLAIM-T", b"der")  # type: ignore[attr-defined]
    now = dt.datetime.now(dt.UTC)
    found = await audit.receipts_between(
        DEVICE, now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)
    )
    assert found == [(packet_id, b"receipt")]
    assert (
        await audit.receipts_between(
            DEVICE, now + dt.timedelta(hours=1), now + dt.timedelta(hours=2)
        )
        == []
    )
    assert await audit.device_site(DEVICE) == "CLAIM-T"
    assert await audit.device_site("dev-unknown") is None
