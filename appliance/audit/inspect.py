"""Reading the record of operations for people: one enrolment's story, an inclusion proof.

- :func:`case_history`: every entry about one case - its lookups, check-ins and
  overrides (by keyed digest), the enrolments started for it (by workflow id)
  with everything recorded during them, and their packets' sealing and delivery;
- :func:`inclusion_proof`: for the audit team, an entry with its RFC 9162
  inclusion proof in the tree of the latest signed checkpoint that covers it,
  the checkpoint itself (signed note) and the certificate chain that signed
  it: everything needed to check the entry without trusting the kiosk.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from appliance.audit.checkpoints import CheckpointStore
from appliance.audit.store import SegmentStore
from transparency.checkpoint import open_checkpoint
from transparency.entries import Entry, EntryError, parse_entry
from transparency.merkle import MerkleTree, ProofError, verify_inclusion


def read_entries(directory: Path) -> list[Entry]:
    """Every readable entry still on the kiosk (damaged ones are skipped: see verify)."""
    store = SegmentStore(directory)
    base, _ = CheckpointStore(directory).base()
    entries = []
    with store.locked(exclusive=False):
        for line in store.lines(start=base):
            if line.problem is None:
                try:
                    entries.append(parse_entry(line.entry, index=line.index))
                except EntryError:
                    continue
    return entries


def case_history(entries: list[Entry], digest: str) -> list[Entry]:
    workflows = {
        str(e.fields["workflow_id"])
        for e in entries
        if e.fields.get("case_digest") == digest and e.fields.get("workflow_id")
    }
    packets = {
        str(e.fields["packet_id"])
        for e in entries
        if e.fields.get("workflow_id") in workflows and e.fields.get("packet_id")
    }
    return [
        e
        for e in entries
        if e.fields.get("case_digest") == digest
        or e.fields.get("workflow_id") in workflows
        or e.fields.get("packet_id") in packets
    ]


def inclusion_proof(directory: Path, index: int) -> dict[str, Any]:
    """The proof bundle for entry ``index`` (ValueError when it cannot be proven)."""
    store = SegmentStore(directory)
    checkpoints = CheckpointStore(directory)
    with store.locked(exclusive=False):
        base, frontier = checkpoints.base()
        tree = MerkleTree(base, frontier)
        entry_bytes = b""
        for line in store.lines(start=base):
            tree.append(bytes.fromhex(line.leaf_hex) if line.problem is None else b"\0" * 32)
            if line.index == index:
                entry_bytes = line.entry
        stored = checkpoints.all()
    if not base <= index < tree.size:
        raise ValueError(f"entry {index} is not on this kiosk (it holds {base}..{tree.size - 1})")
    covering = [c for c in stored if c.checkpoint is not None and c.checkpoint.size > index]
    if not covering:
        raise ValueError(f"no signed checkpoint covers entry {index} yet: try again later")
    signed = covering[-1]
    head = signed.checkpoint
    assert head is not None
    chain = checkpoints.chain(signed.chain_id)
    open_checkpoint(signed.note, chain[0])
    try:
        proof = tree.inclusion_proof(index, head.size)
    except ProofError as exc:
        raise ValueError(str(exc)) from None
    leaf = tree.leaf(index)
    return {
        "index": index,
        "entry": entry_bytes.decode("utf-8", "replace"),
        "leaf_hash": leaf.hex(),
        "tree_size": head.size,
        "root_hash": base64.b64encode(head.root).decode(),
        "inclusion_path": [p.hex() for p in proof],
        "verified": verify_inclusion(index, head.size, leaf, proof, head.root),
        "checkpoint": signed.note.decode(),
        "certificate_chain_pem": b"".join(
            c.public_bytes(serialization.Encoding.PEM) for c in chain
        ).decode(),
    }
