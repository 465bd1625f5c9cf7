"""The record of operations: append entries, keep the Merkle tree, sign checkpoints.

:class:`AuditLog` is the kiosk's one writer (other processes, e.g. the account
CLI, may append too: every append takes the directory's exclusive lock and
first reads whatever another process added). Entries are leaves of the RFC
9162 tree (:mod:`transparency.merkle`); :meth:`AuditLog.checkpoint` signs the
current tree head with the device key (:mod:`transparency.checkpoint`).

``record(event, fields)`` is the hook the workflow, the capture service, the
login sessions and the uplink call: it checks the event and its fields
against :mod:`appliance.audit.events`, replaces a ``case_reference`` by its
keyed digest, fills in the enrolment in progress (``workflow_id``) where the
caller does not know it, and never raises in production (a failure is logged;
``strict`` makes it raise, for tests).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.audit.checkpoints import CheckpointStore, StoredCheckpoint
from appliance.audit.events import CONTEXT_FIELDS, ENROLMENT_EVENTS, EVENTS
from appliance.audit.pseudonym import CaseKey
from appliance.audit.store import Line, SegmentStore
from appliance.models_check import StartupError
from packet.timestamps import format_timestamp
from transparency.checkpoint import Checkpoint, sign_checkpoint
from transparency.entries import Entry, EntryError, parse_entry
from transparency.merkle import MerkleTree, leaf_hash

logger = logging.getLogger(__name__)

#: Events after which no enrolment is in progress any more (the context is cleared).
_ENDS_ENROLMENT = frozenset(
    {"enrolment.cancelled", "enrolment.discarded", "consent.refused", "enrolment.sealed"}
)


class CheckpointSigner(Protocol):
    """What signs checkpoints: :class:`appliance.identity.device.DeviceIdentity`."""

    @property
    def chain(self) -> tuple[x509.Certificate, ...]: ...

    @property
    def device_id(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


EntryListener = Callable[[Entry], None]


class AuditLog:
    def __init__(
        self,
        directory: Path,
        *,
        case_key: CaseKey | None = None,
        signer: CheckpointSigner | None = None,
        clock: Callable[[], float] = time.time,
        strict: bool = False,
    ) -> None:
        self.directory = directory
        self.store = SegmentStore(directory)
        self.checkpoints = CheckpointStore(directory)
        self.case_key = case_key
        self.signer = signer
        self.clock = clock
        self.strict = strict
        self.tree = MerkleTree()
        self.problems: list[str] = []  # damaged lines found at open (verify names them)
        self._listeners: list[EntryListener] = []
        self._lock = threading.RLock()
        self._tail: tuple[int, int] = (0, 0)  # (first index of the last segment, its size)
        self._segment_day = ""
        self._context: dict[str, Any] = {}
        self._opened = False

    # ------------------------------------------------------------------ open

    def subscribe(self, listener: EntryListener) -> None:
        """``listener(entry)`` for every entry, those read at open included."""
        self._listeners.append(listener)

    def open(self) -> None:
        """Read the log (repairing a torn tail, reported as an entry) and the tree."""
        with self._lock, self.store.locked(exclusive=True):
            base, frontier = self.checkpoints.base()
            self.tree = MerkleTree(base, frontier)
            torn = self.store.repair_tail()
            for first, path in self.store.segments():
                if first < base and self._segment_end(first) <= base:
                    self.store.remove(path)  # left behind by an interrupted prune
            for line in self.store.lines(start=base):
                self._take(line)
            self._opened = True
        if torn is not None:
            logger.error("audit log: a torn last line was set aside (%d bytes)", torn.size)
            self.append(
                "audit.torn_tail",
                index=self.size,
                bytes=torn.size,
                sha256=torn.sha256,
                kept_as=torn.kept_as,
            )

    def _segment_end(self, first: int) -> int:
        later = [f for f, _ in self.store.segments() if f > first]
        return later[0] if later else self.size

    def _take(self, line: Line) -> None:
        """Add a stored line to the tree (and tell the listeners its entry)."""
        if line.index != self.tree.size:
            raise StartupError(
                f"the record of operations in {self.directory} is damaged: entries "
                f"{self.tree.size}..{line.index - 1} are missing (a segment was deleted?). "
                "Run 'appliance audit verify'; to start a new record, move the directory aside "
                "(central will flag this kiosk: its history no longer extends what it signed)"
            )
        try:
            leaf = bytes.fromhex(line.leaf_hex) if line.problem is None else None
        except ValueError:
            leaf = None
        entry = None
        if line.problem is None:
            try:
                entry = parse_entry(line.entry, index=line.index)
            except EntryError as exc:
                self.problems.append(f"entry {line.index}: {exc}")
        else:
            self.problems.append(f"entry {line.index}: {line.problem}")
        if leaf is None:
            leaf = leaf_hash(line.entry)
        self.tree.append(leaf)
        self._tail = (self._first_of(line.segment), line.offset + line.length)
        if entry is not None:
            if line.offset == 0:
                self._segment_day = entry.time[:10]
            for listener in self._listeners:
                listener(entry)

    @staticmethod
    def _first_of(segment: Path) -> int:
        return int(segment.stem.split("-")[1])

    # --------------------------------------------------------------- writing

    @property
    def size(self) -> int:
        return self.tree.size

    def set_context(self, workflow_id: str | None) -> None:
        """The enrolment in progress (after a restart the composition root says which)."""
        with self._lock:
            self._context = {} if workflow_id is None else {"workflow_id": workflow_id}

    def record(self, event: str, fields: dict[str, Any]) -> Entry | None:
        """The operations hook: never raises unless ``strict`` (see the module docstring)."""
        try:
            return self.append(event, **fields)
        except Exception:
            if self.strict:
                raise
            logger.exception("the record of operations could not record %s", event)
            return None

    def append(self, event: str, **fields: Any) -> Entry:
        """Append one entry durably; raises on an undocumented event or field."""
        allowed = EVENTS.get(event)
        if allowed is None:
            raise EntryError(f"undocumented event {event!r}")
        values = self._fields(event, allowed, fields)
        with self._lock, self.store.locked(exclusive=True):
            self._catch_up()
            moment = datetime.fromtimestamp(self.clock(), UTC)
            entry = Entry(self.size, format_timestamp(moment), event, values)
            data = entry.to_bytes()
            leaf = leaf_hash(data)
            new_segment = self.size > 0 and entry.time[:10] != self._segment_day
            path, end = self.store.append(entry.index, leaf, data, new_segment=new_segment)
            if new_segment or self.size == 0:
                self._segment_day = entry.time[:10]
            self.tree.append(leaf)
            self._tail = (self._first_of(path), end)
            if event in _ENDS_ENROLMENT:
                self._context = {}
            elif event == "enrolment.started" and values.get("workflow_id"):
                self._context = {"workflow_id": values["workflow_id"]}
        for listener in self._listeners:
            listener(entry)
        return entry

    def _fields(
        self, event: str, allowed: frozenset[str], fields: dict[str, Any]
    ) -> dict[str, Any]:
        values = dict(fields)
        if "case_reference" in values:
            reference = values.pop("case_reference")
            values["case_digest"] = (
                self.case_key.digest(reference) if self.case_key and reference else None
            )
        if event in ENROLMENT_EVENTS:
            for name in CONTEXT_FIELDS:
                if values.get(name) is None and name in self._context:
                    values[name] = self._context[name]
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise EntryError(f"{event}: undocumented fields {', '.join(unknown)}")
        return {name: _plain(value) for name, value in values.items()}

    def _catch_up(self) -> None:
        """Take in lines another process appended since our last write."""
        first, offset = self._tail
        if not self._opened:
            raise RuntimeError("the audit log is not open")
        path, size = self.store.tail()
        if path is None or (self._first_of(path) == first and size == offset):
            return
        for line in self.store.lines_after(first, offset, self.size):
            self._take(line)

    # ------------------------------------------------------------ checkpoints

    def checkpoint(self) -> StoredCheckpoint | None:
        """Sign the current tree head unless the latest checkpoint already covers it."""
        signer = self.signer
        if signer is None:
            return None
        with self._lock:
            latest = self.checkpoints.latest()
            size = self.size
            if size == 0 or (latest and latest.checkpoint and latest.checkpoint.size == size):
                return latest
            moment = datetime.fromtimestamp(self.clock(), UTC)
            head = Checkpoint(signer.device_id, size, self.tree.root(), format_timestamp(moment))
            key = signer.chain[0].public_key()
            assert isinstance(key, ec.EllipticCurvePublicKey)
            note = sign_checkpoint(head, signer.sign, key)
            chain_id = self.checkpoints.chain_id(signer.chain)
            with self.store.locked(exclusive=True):
                self.checkpoints.append(note, chain_id)
            return self.checkpoints.latest()

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        with self._lock:
            return self.tree.consistency_proof(first, second)

    def root(self, size: int | None = None) -> bytes:
        with self._lock:
            return self.tree.root(size)

    # ---------------------------------------------------------------- pruning

    def prune(self, *, older_than: str, accepted_size: int | None) -> int:
        """Delete whole segments whose entries are all older than ``older_than`` (UTC
        timestamp) and, when the kiosk uploads, all held by a checkpoint central
        accepted (``accepted_size``). Returns the number of segments deleted."""
        with self._lock, self.store.locked(exclusive=True):
            segments = self.store.segments()
            new_base = self.tree.base
            doomed: list[Path] = []
            for position, (_, path) in enumerate(segments[:-1]):  # never the current one
                end = segments[position + 1][0]
                if accepted_size is not None and end > accepted_size:
                    break
                if self._last_time(path) >= older_than:
                    break
                new_base, doomed = end, [*doomed, path]
            if not doomed:
                return 0
            frontier = self.tree.prune(new_base)
            self.checkpoints.set_base(new_base, frontier)  # first: a crash leaves extra files
            for path in doomed:
                self.store.remove(path)
            self.checkpoints.keep_from(new_base)
        self.append("audit.pruned", below=new_base, segments=len(doomed))
        return len(doomed)

    def _last_time(self, path: Path) -> str:
        last = ""
        first = self._first_of(path)
        for line in self.store._read(path, first, first):
            try:
                last = parse_entry(line.entry).time
            except EntryError:
                continue
        return last


def _plain(value: Any, nested: bool = False) -> Any:
    """A field value as the entry format takes it: scalars (floats rounded) and flat lists
    of them. Bytes, mappings and objects are refused: no image or record can slip in."""
    if isinstance(value, tuple | list | set | frozenset) and not nested:
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [_plain(v, nested=True) for v in items]
    if isinstance(value, float):
        return round(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    raise EntryError(f"a field holds a {type(value).__name__}: only text, numbers and lists")


def record_technician_action(state_dir: Path, action: str, target: str) -> str | None:
    """Append a technician's command-line action (``tech.action``, user ``system:<login>``)
    to the kiosk's record of operations, beside a running daemon; returns an error text
    when it could not be recorded (the caller says so loudly)."""
    import getpass

    try:
        log = AuditLog(state_dir / "audit")
        log.open()
        log.append("tech.action", user=f"system:{getpass.getuser()}", action=action, target=target)
        _give_back(state_dir)
    except Exception as exc:
        return str(exc)
    return None


def _give_back(state_dir: Path) -> None:
    """Run as root beside the daemon: files root created go to the state dir's owner."""
    if os.geteuid() != 0:
        return
    owner = state_dir.stat()
    if owner.st_uid == 0:
        return
    for path in [state_dir / "audit", *(state_dir / "audit").rglob("*")]:
        if path.stat().st_uid == 0:
            os.chown(path, owner.st_uid, owner.st_gid)
