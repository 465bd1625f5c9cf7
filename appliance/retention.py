"""Retention: what the kiosk forgets, and when (docs/data-protection.md lists it all).

- Delivered packets leave a tombstone (packet id, size, SHA-256 and central's
  signed receipt) as proof of delivery; tombstones older than
  ``retention.tombstone_days`` are deleted.
- The workflow file (``<state_dir>/workflow/current.json``: the case reference,
  the operator, the consent, the receipt) exists while an enrolment is in
  progress or its outcome is on screen. An enrolment untouched for
  ``retention.enrolment_hours`` is ended - cancelled (its in-memory captures
  discarded) or, once sealed or aborted, cleared - which deletes the file; a
  record set aside as unreadable (``*.unreadable``) is deleted after the same time.
- The record of operations and the daily ledgers keep ``audit.retention_days``
  (:mod:`appliance.audit.service` prunes them).

Runs at start and then every hour. Captures never reach the disk, and the
daemon's logs go to journald, whose own retention (``MaxRetentionSec=`` in
``systemd/journald.conf.d/``) applies.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from appliance.config.model import RetentionConfig
from appliance.outbox import Outbox
from appliance.tasks import cancel_and_wait
from appliance.workflow.engine import WorkflowEngine
from appliance.workflow.state import CANCELLABLE, Step, TransitionError

logger = logging.getLogger(__name__)

INTERVAL_S = 3600.0


class Retention:
    def __init__(
        self,
        outbox: Outbox | None,
        config: RetentionConfig,
        workflow: WorkflowEngine | None = None,
        workflow_dir: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._outbox = outbox
        self._tombstone_s = config.tombstone_days * 86400.0
        self._enrolment_s = config.enrolment_hours * 3600.0
        self._workflow = workflow
        self._workflow_dir = workflow_dir
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        expired = 0
        if self._outbox is not None:
            expired = await asyncio.to_thread(self._outbox.expire_tombstones, self._tombstone_s)
            if expired:
                logger.info("retention: %d delivery tombstones expired", expired)
        await self._expire_enrolment()
        await asyncio.to_thread(self._expire_unreadable)
        return expired

    async def _expire_enrolment(self) -> None:
        workflow = self._workflow
        record = workflow.record if workflow is not None else None
        if workflow is None or record is None:
            return
        if self._now() - record.updated_at < self._enrolment_s:
            return
        try:
            if record.step in (Step.DONE, Step.ABORTED):
                await workflow.finish()
            elif record.step in CANCELLABLE:
                await workflow.cancel()
            else:
                return  # sealing: it ends by itself
        except TransitionError:
            return  # it moved meanwhile
        logger.info("retention: an enrolment left untouched was ended and its record deleted")

    def _expire_unreadable(self) -> None:
        if self._workflow_dir is None or not self._workflow_dir.is_dir():
            return
        for path in self._workflow_dir.glob("*.unreadable"):
            if self._now() - path.stat().st_mtime >= self._enrolment_s:
                path.unlink(missing_ok=True)
                logger.info("retention: an unreadable workflow record was deleted")

    def _now(self) -> float:
        return self._clock()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="retention")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                logger.exception("retention run failed")
            await asyncio.sleep(INTERVAL_S)
