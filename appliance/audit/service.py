"""The record of operations as a running service: the hook, checkpoints, ledgers, upload.

Built by the composition root (:func:`appliance.app`), :class:`AuditService`:

- opens the log (:class:`~appliance.audit.log.AuditLog`) with the daily book
  listening (:class:`~appliance.audit.book.LedgerBook`) and records
  ``audit.opened`` and ``config.loaded``;
- is the operations hook: :meth:`record` (``on_operation(event, fields)``);
- runs one background round every ``audit.checkpoint_interval_s`` seconds, and
  at once after a submit: sign a checkpoint if the log grew, re-sign the days
  whose ledger changed, send both to central (when provisioned), and once an
  hour prune what ``audit.retention_days`` allows;
- on stop, runs a last round (bounded in time) so the last enrolment's
  checkpoint and the day's ledger reach central.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc

from appliance import __version__
from appliance.audit.book import LedgerBook
from appliance.audit.events import CHECKPOINT_NOW
from appliance.audit.ledgers import LedgerStore
from appliance.audit.log import AuditLog, CheckpointSigner
from appliance.audit.pseudonym import CaseKey
from appliance.audit.uplink import AuditUplink, SyncResult
from appliance.config import ApplianceConfig
from appliance.durable import atomic_write
from appliance.tasks import cancel_and_wait
from packet.canonical import canonical_json
from packet.timestamps import format_timestamp
from transparency.ledger import DayLedger

logger = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0
STOP_ROUND_S = 10.0


@dataclass(frozen=True)
class AuditSettings:
    checkpoint_interval_s: float
    retention_days: int
    time_zone: str
    site_id: str


def open_audit(config: ApplianceConfig, signer: CheckpointSigner | None) -> AuditService:
    """The record of operations of a kiosk, opened (the composition root calls this)."""
    audit = AuditService(
        config.storage.state_dir,
        AuditSettings(
            checkpoint_interval_s=config.audit.checkpoint_interval_s,
            retention_days=config.audit.retention_days,
            time_zone=config.audit.time_zone,
            site_id=config.site.claim_id,
        ),
        signer=signer,
    )
    audit.open(config.profile.value, config.model_dump(mode="json"))
    return audit


class AuditService:
    def __init__(
        self,
        state_dir: Path,
        settings: AuditSettings,
        *,
        signer: CheckpointSigner | None,
        device_id: str | None = None,
        clock: Any = time.time,
    ) -> None:
        self.settings = settings
        self.case_key = CaseKey.load_or_create(state_dir)
        self.directory = state_dir / "audit"
        self.log = AuditLog(self.directory, case_key=self.case_key, signer=signer, clock=clock)
        self.signer = signer
        self.book = LedgerBook(
            device_id or (signer.device_id if signer else "unprovisioned"),
            settings.site_id,
            settings.time_zone,
        )
        self.log.subscribe(self.book)
        self.ledgers = LedgerStore(self.directory)
        self.uplink: AuditUplink | None = None
        self.last_sync: SyncResult | None = None
        self._clock = clock
        self._due = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._pruned_at = 0.0

    # --------------------------------------------------------------- opening

    def open(self, profile: str, config: dict[str, Any]) -> None:
        """Open the log; record the start and the configuration (changes named)."""
        self.log.open()
        if self.log.problems:
            logger.error(
                "record of operations: %d damaged entries (run 'appliance audit verify')",
                len(self.log.problems),
            )
        self.record(
            "audit.opened",
            {"software_version": __version__, "damaged_entries": len(self.log.problems)},
        )
        self._note_config(profile, config)

    def _note_config(self, profile: str, config: dict[str, Any]) -> None:
        sections = {k: hashlib.sha256(canonical_json(v)).hexdigest() for k, v in config.items()}
        snapshot = self.directory / "config-sections.json"
        try:
            previous = json.loads(snapshot.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            previous = None
        changed = (
            []
            if previous is None
            else sorted(
                k for k in set(sections) | set(previous) if sections.get(k) != previous.get(k)
            )
        )
        whole = hashlib.sha256(canonical_json(config)).hexdigest()
        self.record("config.loaded", {"profile": profile, "sha256": whole, "changed": changed})
        atomic_write(snapshot, json.dumps(sections, sort_keys=True).encode())

    # ------------------------------------------------------------------ hook

    def record(self, event: str, fields: dict[str, Any]) -> None:
        """The operations hook: ``on_operation(event, fields)``; never raises."""
        self.log.record(event, fields)
        if event in CHECKPOINT_NOW:
            self.poke()

    def digest(self, case_reference: str) -> str:
        """The keyed hash the log stores for ``case_reference``."""
        return self.case_key.digest(case_reference)

    def poke(self) -> None:
        """Run a round (checkpoint, ledgers, upload) soon; callable from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._due.set)

    # ------------------------------------------------------------ background

    def start(self, channel: grpc.aio.Channel | None) -> None:
        self._loop = asyncio.get_running_loop()
        if channel is not None and self.signer is not None:
            self.uplink = AuditUplink(channel, self.log, self.ledgers, self.signer)
        self._task = asyncio.create_task(self._run(), name="audit")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        try:
            await asyncio.wait_for(self.round(), STOP_ROUND_S)
        except (TimeoutError, grpc.aio.AioRpcError) as exc:
            logger.warning("last audit round did not finish: %s", type(exc).__name__)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), self.settings.checkpoint_interval_s)
            self._due.clear()
            try:
                await self.round()
            except grpc.aio.AioRpcError as exc:
                logger.info("audit upload failed: %s", exc.code().name)
            except Exception:
                logger.exception("audit round failed")

    async def round(self) -> SyncResult | None:
        """Checkpoint, sign changed ledgers, upload, prune (when due)."""
        stored = await asyncio.to_thread(self.log.checkpoint)
        if stored is not None and stored.checkpoint is not None and self.signer is not None:
            await asyncio.to_thread(
                self.ledgers.sign_changed, self.book, self.signer, stored.checkpoint, self._clock()
            )
        if self.uplink is not None:
            self.last_sync = await self.uplink.sync()
        if self._clock() - self._pruned_at >= PRUNE_EVERY_S:
            await asyncio.to_thread(self.prune)
        return self.last_sync

    def prune(self) -> int:
        """Drop what the retention allows (entries central accepted, older than the limit)."""
        self._pruned_at = self._clock()
        now = datetime.fromtimestamp(self._clock(), UTC)
        cutoff = now - timedelta(days=self.settings.retention_days)
        accepted = None
        if self.signer is not None:
            accepted = self.last_sync.checkpoint_size if self.last_sync else 0
        removed = self.log.prune(older_than=format_timestamp(cutoff), accepted_size=accepted)
        first_day = self.book.day_of(cutoff)
        self.ledgers.prune(first_day)
        self.book.forget_before(first_day)
        return removed

    # ----------------------------------------------------------------- reads

    def day_ledgers(self, first_day: str, last_day: str) -> list[DayLedger]:
        """Each day's ledger as the log says now, for the statistics page."""
        days = [d for d in self.book.days() if first_day <= d <= last_day]
        return [self.book.ledger(day) for day in days]

    def today(self) -> str:
        return self.book.day_of(datetime.fromtimestamp(self._clock(), UTC))

    def status(self) -> dict[str, Any]:
        latest = self.log.checkpoints.latest()
        head = latest.checkpoint if latest is not None else None
        sync = self.last_sync
        return {
            "entries": self.log.size,
            "checkpoint_size": head.size if head else 0,
            "checkpoint_time": head.time if head else None,
            "central_entries": sync.entries_held if sync else None,
            "central_checkpoint_size": sync.checkpoint_size if sync else None,
            "flagged": sync.flagged if sync else False,
            "problem": sync.problem if sync else None,
            "damaged_entries": len(self.log.problems),
        }
