"""Signed checkpoints on the kiosk, the certificates that signed them, and the log's base.

Under ``<state_dir>/audit/``::

    checkpoints.log        one JSON line per checkpoint, oldest first:
                           {"chain": "<sha256 of the chain file>", "note": "<base64 note>"}
    certs/<sha256>.pem     the signing certificate chain (device certificate first),
                           stored once per key (a key rotation adds a file)
    base.json              after pruning: {"size": B, "frontier": [hex, ...]}, the
                           RFC 9162 perfect subtrees standing for entries [0, B)

Lines are appended and fsynced like entries; pruning rewrites the file
atomically (temporary file, fsync, rename, directory fsync).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from appliance.durable import atomic_write
from transparency.checkpoint import Checkpoint, CheckpointError, parse_checkpoint_text
from transparency.note import NoteError, parse_note

MAX_CHECKPOINT_LINE = 16 << 10


@dataclass(frozen=True)
class StoredCheckpoint:
    position: int  # line number in checkpoints.log (0-based)
    checkpoint: Checkpoint | None  # None when the line does not parse
    note: bytes
    chain_id: str
    problem: str | None = None


class CheckpointStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "checkpoints.log"
        self.certs = directory / "certs"
        self.base_path = directory / "base.json"
        self._latest: StoredCheckpoint | None = None  # the writer's cache (one writer signs)

    # ------------------------------------------------------------ certificates

    def chain_id(self, chain: tuple[x509.Certificate, ...]) -> str:
        """Store ``chain`` once; its id is the SHA-256 of the PEM file."""
        pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
        digest = hashlib.sha256(pem).hexdigest()
        path = self.certs / f"{digest}.pem"
        if not path.exists():
            self.certs.mkdir(exist_ok=True, mode=0o700)
            atomic_write(path, pem)
        return digest

    def chain(self, chain_id: str) -> tuple[x509.Certificate, ...]:
        pem = (self.certs / f"{chain_id}.pem").read_bytes()
        if hashlib.sha256(pem).hexdigest() != chain_id:
            raise CheckpointError(f"certificate file {chain_id[:12]}... was altered")
        return tuple(x509.load_pem_x509_certificates(pem))

    # ------------------------------------------------------------ checkpoints

    def append(self, note: bytes, chain_id: str) -> None:
        line = json.dumps(
            {"chain": chain_id, "note": base64.b64encode(note).decode()}, sort_keys=True
        ).encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        stored = _parse(-1, line)
        self._latest = stored if stored.checkpoint is not None else None

    def all(self) -> list[StoredCheckpoint]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        found = []
        lines = data.split(b"\n")
        complete = lines[:-1]  # a torn last line (no newline) is not a checkpoint yet
        for position, raw in enumerate(complete):
            found.append(_parse(position, raw))
        return found

    def latest(self) -> StoredCheckpoint | None:
        """The newest readable checkpoint (read once, then kept up to date by append)."""
        if self._latest is None:
            good = [c for c in self.all() if c.checkpoint is not None]
            self._latest = good[-1] if good else None
        return self._latest

    def keep_from(self, size: int) -> int:
        """Drop checkpoints of trees smaller than ``size`` (pruning); returns how many."""
        stored = self.all()
        kept = [c for c in stored if c.checkpoint is None or c.checkpoint.size >= size]
        if len(kept) == len(stored):
            return 0
        lines = b"".join(
            json.dumps(
                {"chain": c.chain_id, "note": base64.b64encode(c.note).decode()}, sort_keys=True
            ).encode()
            + b"\n"
            for c in kept
        )
        atomic_write(self.path, lines)
        self._latest = None
        return len(stored) - len(kept)

    # ------------------------------------------------------------------- base

    def base(self) -> tuple[int, list[bytes]]:
        try:
            data = json.loads(self.base_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 0, []
        return int(data["size"]), [bytes.fromhex(h) for h in data["frontier"]]

    def set_base(self, size: int, frontier: list[bytes]) -> None:
        data = json.dumps({"frontier": [h.hex() for h in frontier], "size": size}).encode()
        atomic_write(self.base_path, data)


def _parse(position: int, raw: bytes) -> StoredCheckpoint:
    if len(raw) > MAX_CHECKPOINT_LINE:
        return StoredCheckpoint(position, None, b"", "", "line longer than the limit")
    try:
        value = json.loads(raw)
        note = base64.b64decode(value["note"], validate=True)
        chain_id = str(value["chain"])
        checkpoint = parse_checkpoint_text(parse_note(note).text)
    except (ValueError, KeyError, TypeError, NoteError, CheckpointError) as exc:
        return StoredCheckpoint(position, None, raw, "", f"unreadable checkpoint: {exc}")
    return StoredCheckpoint(position, checkpoint, note, chain_id)
