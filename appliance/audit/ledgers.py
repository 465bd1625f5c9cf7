"""Signed daily ledgers on the kiosk: the latest revision per day, and what central has.

Under ``<state_dir>/audit/ledger/``::

    <YYYY-MM-DD>.note   the day's latest signed ledger (a C2SP signed note,
                        transparency.ledger), replaced atomically by each revision
    uploaded.json       {"<day>": <revision central acknowledged>, ...}

A day is (re)signed after a checkpoint when what the log says about it
(:meth:`transparency.ledger.DayLedger.content`) differs from its latest
revision: the day in progress after each enrolment, an earlier day when a
late receipt arrives. Ledgers are kept as long as the log's entries
(``audit.retention_days``).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from appliance.audit.book import LedgerBook
from appliance.audit.log import CheckpointSigner
from appliance.durable import atomic_write
from packet.timestamps import format_timestamp
from transparency.checkpoint import Checkpoint
from transparency.ledger import DayLedger, LedgerError, read_ledger, sign_ledger

_NOTE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.note$")


class LedgerStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory / "ledger"
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._uploaded_path = self.directory / "uploaded.json"
        self._lock = threading.Lock()

    def days(self) -> list[str]:
        return sorted(m.group(1) for p in self.directory.iterdir() if (m := _NOTE.match(p.name)))

    def note(self, day: str) -> bytes | None:
        try:
            return (self.directory / f"{day}.note").read_bytes()
        except FileNotFoundError:
            return None

    def latest(self, day: str) -> DayLedger | None:
        data = self.note(day)
        if data is None:
            return None
        try:
            return read_ledger(data)
        except LedgerError:
            return None

    def sign_changed(
        self,
        book: LedgerBook,
        signer: CheckpointSigner,
        head: Checkpoint,
        now: float,
    ) -> list[str]:
        """Sign a new revision of every day whose content changed; returns those days."""
        with self._lock:
            days = book.take_changed() | (set(book.days()) - set(self.days()))
            signed = []
            key = signer.chain[0].public_key()
            assert isinstance(key, ec.EllipticCurvePublicKey)
            for day in sorted(days):
                ledger = book.ledger(day)
                previous = self.latest(day)
                if previous is not None and previous.content() == ledger.content():
                    continue
                ledger.revision = 1 if previous is None else previous.revision + 1
                ledger.as_of = format_timestamp(datetime.fromtimestamp(now, UTC))
                ledger.log_size = head.size
                ledger.log_root = base64.b64encode(head.root).decode()
                atomic_write(self.directory / f"{day}.note", sign_ledger(ledger, signer.sign, key))
                signed.append(day)
            return signed

    # ------------------------------------------------------------------ upload

    def uploaded(self) -> dict[str, int]:
        try:
            data = json.loads(self._uploaded_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return {str(k): int(v) for k, v in data.items()}

    def pending(self) -> list[tuple[str, int, bytes]]:
        """(day, revision, signed note) of every revision central has not acknowledged."""
        done = self.uploaded()
        found = []
        for day in self.days():
            ledger, note = self.latest(day), self.note(day)
            if ledger is not None and note is not None and done.get(day, 0) < ledger.revision:
                found.append((day, ledger.revision, note))
        return found

    def mark_uploaded(self, day: str, revision: int) -> None:
        with self._lock:
            done = self.uploaded()
            done[day] = max(revision, done.get(day, 0))
            atomic_write(self._uploaded_path, json.dumps(done, sort_keys=True).encode())

    def prune(self, before_day: str) -> int:
        with self._lock:
            removed = 0
            for day in self.days():
                if day < before_day:
                    (self.directory / f"{day}.note").unlink(missing_ok=True)
                    removed += 1
            if removed:
                done = {d: r for d, r in self.uploaded().items() if d >= before_day}
                atomic_write(self._uploaded_path, json.dumps(done, sort_keys=True).encode())
            return removed
