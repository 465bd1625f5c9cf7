"""The outbox: atomic adds, crash recovery, quota, quarantine, tombstones."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO

import pytest

from appliance.outbox import Outbox, OutboxError, OutboxFull


def _writer(payload: bytes):  # type: ignore[no-untyped-def]
    def write(handle: BinaryIO) -> tuple[int, str]:
        handle.write(payload)
        return len(payload), hashlib.sha256(payload).hexdigest()

    return write


def test_add_claim_commit_purge(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, quota_bytes=1 << 20)
    entry = outbox.add("p1", _writer(b"sealed-1"))
    assert entry.path.read_bytes() == b"sealed-1"
    assert outbox.status().depth == 1
    [claimed] = outbox.claim(5)
    assert claimed.packet_id == "p1"
    assert outbox.state_of("p1") == "uploading"
    assert outbox.verify_blob(claimed)
    outbox.commit("p1", b"receipt")
    assert outbox.state_of("p1") == "purged"
    assert outbox.receipt_of("p1") == b"receipt"
    assert not entry.path.exists()
    assert outbox.status().depth == 0
    assert outbox.expire_tombstones(retention_s=-1) == 1
    with pytest.raises(OutboxError):
        outbox.add("../evil", _writer(b"x"))


def test_duplicate_packet_id_is_refused(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, quota_bytes=1 << 20)
    outbox.add("p1", _writer(b"a"))
    with pytest.raises(OutboxError, match="already"):
        outbox.add("p1", _writer(b"b"))


def test_recovery_after_crash_points(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, quota_bytes=1 << 20)
    outbox.add("uploading", _writer(b"u"))
    outbox.add("committed", _writer(b"c"))
    outbox.claim(1)
    outbox._db.execute("UPDATE packets SET state='committed' WHERE packet_id='committed'")
    outbox.close()
    # Crash while sealing: a temp file; crash after rename, before the row: an orphan blob.
    (tmp_path / "tmp" / "half.part").write_bytes(b"partial")
    (tmp_path / "blobs" / "orphan.pkt").write_bytes(b"complete")
    recovered = Outbox(tmp_path, quota_bytes=1 << 20)
    assert recovered.state_of("uploading") == "queued"
    assert recovered.state_of("committed") == "purged"
    assert recovered.state_of("orphan") == "queued"
    assert not (tmp_path / "tmp" / "half.part").exists()
    assert recovered.status().depth == 2


def test_quota_refuses_new_captures_with_a_clear_message(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, quota_bytes=1000, warn_percent=50)
    outbox.add("a", _writer(b"x" * 600))
    status = outbox.status()
    assert status.warn and not status.full
    outbox.add("b", _writer(b"x" * 600))
    assert outbox.status().full
    with pytest.raises(OutboxFull, match="full"):
        outbox.add("c", _writer(b"x"))
    assert outbox.state_of("a") == "queued"  # nothing already queued is dropped


def test_write_failure_leaves_no_trace(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, quota_bytes=1 << 20)

    def broken(handle: BinaryIO) -> tuple[int, str]:
        handle.write(b"partial")
        raise RuntimeError("sealer crashed")

    with pytest.raises(RuntimeError):
        outbox.add("p", broken)
    assert outbox.state_of("p") is None
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list((tmp_path / "blobs").iterdir()) == []


def test_corrupt_entry_is_quarantined_not_deleted(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, quota_bytes=1 << 20)
    entry = outbox.add("p", _writer(b"good bytes"))
    with entry.path.open("r+b") as handle:
        handle.write(b"BAD")
    [claimed] = outbox.claim()
    assert not outbox.verify_blob(claimed)
    assert outbox.state_of("p") == "quarantined"
    assert (tmp_path / "quarantine" / "p.pkt").read_bytes().startswith(b"BAD")
    assert outbox.status().quarantined == 1


def test_database_is_wal_with_full_sync(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path, quota_bytes=1 << 20)
    assert outbox._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert oct(os.stat(tmp_path / "blobs").st_mode & 0o777) == "0o700"
