"""The record of operations' costs: ``python bench/audit.py [--entries N] [--leaves M] --json``.

Prints one JSON object, every figure measured in this run:

- ``append_per_s``: entries appended durably (canonical JSON, leaf hash, one
  write and fsync each, under the directory lock) per second; baseline
  ``raw_fsync_per_s``: the same bytes written and fsynced line by line with
  plain ``os.write`` in the same directory; ``append_ratio`` = append / raw;
- ``checkpoint_ms``: signing a checkpoint (ECDSA P-256, software key) and storing it;
- ``verify_s`` for the N entries and their checkpoints (``appliance audit verify``);
- for a tree of M leaves (default 100 000, about three months of a busy kiosk):
  ``inclusion_proof_ms`` and ``consistency_proof_ms`` (cached perfect subtrees,
  after the first), ``root_by_frontier_us`` (what central computes per checkpoint)
  against ``root_by_recompute_ms`` (recomputing from every leaf, the baseline),
  with ``frontier_speedup``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.audit import verify_log
from tests.audit_world import enrolment, make_signer, open_log
from transparency.merkle import CompactRange, MerkleTree, leaf_hash, root_of


def bench_log(entries: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        root = Path(tmp)
        log = open_log(root, make_signer())
        started = time.perf_counter()
        number = 0
        while log.size < entries:
            enrolment(log, number, f"BENCH-{number:06d}")
            number += 1
        append_s = time.perf_counter() - started
        written = log.size
        lines = b"".join(p.read_bytes() for p in sorted((root / "audit").glob("segment-*.log")))
        started = time.perf_counter()
        checkpoints = 20
        for _ in range(checkpoints):
            log.append("auth.lock", user="op", reason="idle")
            log.checkpoint()
        checkpoint_s = (time.perf_counter() - started) / checkpoints
        started = time.perf_counter()
        report = verify_log(root / "audit")
        verify_s = time.perf_counter() - started
        assert report.ok, report.to_json()
        raw = root / "raw.log"
        fd = os.open(raw, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        started = time.perf_counter()
        for line in lines.splitlines(keepends=True):
            os.write(fd, line)
            os.fsync(fd)
        raw_s = time.perf_counter() - started
        os.close(fd)
    return {
        "entries": written,
        "append_per_s": round(written / append_s, 1),
        "raw_fsync_per_s": round(written / raw_s, 1),
        "append_ratio": round(raw_s / append_s, 3),
        "checkpoint_ms": round(checkpoint_s * 1000, 2),
        "verify_s": round(verify_s, 3),
    }


def bench_tree(leaves: int) -> dict[str, float]:
    hashes = [leaf_hash(b"entry %d" % i) for i in range(leaves)]
    tree = MerkleTree()
    tree.extend(hashes)
    tree.inclusion_proof(leaves // 3)  # fills the cache of perfect subtrees
    started = time.perf_counter()
    for index in range(0, leaves, max(1, leaves // 50)):
        tree.inclusion_proof(index)
    inclusion_s = (time.perf_counter() - started) / 50
    started = time.perf_counter()
    for first in range(1, leaves, max(1, leaves // 50)):
        tree.consistency_proof(first)
    consistency_s = (time.perf_counter() - started) / 50
    frontier = CompactRange()
    for value in hashes:
        frontier.append(value)
    started = time.perf_counter()
    for _ in range(1000):
        frontier_root = frontier.root()
    frontier_s = (time.perf_counter() - started) / 1000
    started = time.perf_counter()
    full_root = root_of(hashes)
    recompute_s = time.perf_counter() - started
    assert full_root == frontier_root == tree.root()
    return {
        "leaves": leaves,
        "inclusion_proof_ms": round(inclusion_s * 1000, 3),
        "consistency_proof_ms": round(consistency_s * 1000, 3),
        "root_by_frontier_us": round(frontier_s * 1e6, 2),
        "root_by_recompute_ms": round(recompute_s * 1000, 2),
        "frontier_speedup": round(recompute_s / frontier_s, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--leaves", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {**bench_log(args.entries), **bench_tree(args.leaves)}
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
