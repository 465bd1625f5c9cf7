"""Check a record of operations on disk: entry hashes, the tree, signatures, consistency.

:func:`verify_log` reads the files (never writes; under the directory's shared
lock, so a running kiosk's append is never seen half-written) and checks:

1. every line is ``<leaf hash> <entry>``, the entry is canonical, at its index,
   and hashes (RFC 9162 leaf hash) to the leaf hash stored with it - a changed
   byte in an entry names that entry;
2. every stored checkpoint parses, its certificate file is intact and names the
   device, and its signature verifies;
3. every checkpoint's root equals the tree head recomputed at its size (a log
   shorter than a signed size was truncated), and each checkpoint is consistent
   with the one before it (RFC 9162 2.1.4 proof computed from the log and
   verified against both signed roots). When the entries hash correctly but a
   signed root differs, the stored leaf hashes were rewritten too: the report
   names the range between the last matching checkpoint and the first that
   does not.

A torn last line (a crash during a write; set aside at the next start) is a
warning, not a failure. The first failing entry is ``first_bad_entry``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.audit.checkpoints import CheckpointStore
from appliance.audit.store import SegmentStore
from transparency.checkpoint import CheckpointError, open_checkpoint
from transparency.entries import EntryError, parse_entry
from transparency.merkle import MerkleTree, ProofError, leaf_hash, verify_consistency


@dataclass
class Problem:
    what: str
    index: int | None = None  # the entry concerned, when one is
    checkpoint: int | None = None  # the checkpoint concerned (line in checkpoints.log)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "checkpoint": self.checkpoint, "what": self.what}


@dataclass
class Report:
    entries: int = 0
    base: int = 0
    checkpoints: int = 0
    verified_checkpoints: int = 0
    device_id: str | None = None
    head_size: int = 0
    head_root: str = ""
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_entry(self) -> int | None:
        indices = [p.index for p in self.problems if p.index is not None]
        return min(indices) if indices else None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "base": self.base,
            "checkpoints": self.checkpoints,
            "verified_checkpoints": self.verified_checkpoints,
            "device_id": self.device_id,
            "head": {"size": self.head_size, "root": self.head_root},
            "first_bad_entry": self.first_bad_entry,
            "problems": [p.to_json() for p in self.problems],
            "warnings": self.warnings,
        }


def verify_log(directory: Path) -> Report:
    report = Report()
    if not directory.is_dir():
        report.problems.append(Problem(f"no record of operations in {directory}"))
        return report
    store = SegmentStore(directory)
    checkpoints = CheckpointStore(directory)
    with store.locked(exclusive=False):
        base, frontier = checkpoints.base()
        tree = MerkleTree(base, frontier)
        report.base = base
        _check_entries(store, tree, report)
        stored = checkpoints.all()
        _check_torn(store, report)
    report.entries = tree.size
    report.head_size = tree.size
    report.head_root = tree.root().hex()
    _check_checkpoints(checkpoints, stored, tree, report)
    return report


def _check_entries(store: SegmentStore, tree: MerkleTree, report: Report) -> None:
    expected = tree.base
    for line in store.lines(start=tree.base):
        if line.index != expected:
            report.problems.append(Problem("entries are missing before this one", line.index))
        expected = line.index + 1
        if line.problem is not None:
            report.problems.append(Problem(line.problem, line.index))
            tree.append(leaf_hash(line.entry))
            continue
        stored = bytes.fromhex(line.leaf_hex)
        if leaf_hash(line.entry) != stored:
            report.problems.append(
                Problem("the entry's bytes do not hash to the leaf hash stored with it", line.index)
            )
        else:
            try:
                parse_entry(line.entry, index=line.index)
            except EntryError as exc:
                report.problems.append(Problem(f"malformed entry: {exc}", line.index))
        tree.append(stored)


def _check_torn(store: SegmentStore, report: Report) -> None:
    path, size = store.tail()
    if path is None or size == 0:
        return
    with path.open("rb") as handle:
        handle.seek(size - 1)
        if handle.read(1) != b"\n":
            report.warnings.append(
                f"{path.name} ends in a torn line (a write interrupted by a crash); "
                "the kiosk sets it aside at its next start and records audit.torn_tail"
            )


def _check_checkpoints(
    checkpoints: CheckpointStore, stored: list[Any], tree: MerkleTree, report: Report
) -> None:
    report.checkpoints = len(stored)
    previous = None  # (size, root) of the last checkpoint that matched the log
    for item in stored:
        if item.checkpoint is None:
            report.problems.append(Problem(item.problem or "unreadable", checkpoint=item.position))
            continue
        head = item.checkpoint
        try:
            chain = checkpoints.chain(item.chain_id)
            open_checkpoint(item.note, chain[0])
        except (OSError, ValueError, CheckpointError) as exc:
            report.problems.append(Problem(f"signature: {exc}", checkpoint=item.position))
            continue
        if report.device_id is None:
            report.device_id = head.device_id
        elif head.device_id != report.device_id:
            report.problems.append(
                Problem(f"signed by another device ({head.device_id})", checkpoint=item.position)
            )
            continue
        if head.size > tree.size:
            report.problems.append(
                Problem(
                    f"signed {head.size} entries, the log holds {tree.size}: it was truncated",
                    index=tree.size,
                    checkpoint=item.position,
                )
            )
            continue
        if head.size < tree.base:
            continue
        if tree.root(head.size) != head.root:
            start = previous[0] if previous else tree.base
            report.problems.append(
                Problem(
                    f"the log's head at {head.size} differs from the signed one: an entry in "
                    f"{start}..{head.size - 1} was rewritten",
                    index=start,
                    checkpoint=item.position,
                )
            )
            continue
        if previous is not None and previous[0] > 0 and not _consistent(tree, previous, head):
            report.problems.append(
                Problem("not consistent with the checkpoint before it", checkpoint=item.position)
            )
            continue
        previous = (head.size, head.root)
        report.verified_checkpoints += 1


def _consistent(tree: MerkleTree, previous: tuple[int, bytes], head: Any) -> bool:
    first, first_root = previous
    if head.size < first:
        return False
    try:
        proof = tree.consistency_proof(first, head.size)
    except ProofError:
        return False
    return verify_consistency(first, head.size, first_root, head.root, proof)
