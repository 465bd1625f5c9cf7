"""Retention: what the kiosk forgets, and when.

Delivered packets leave a tombstone (packet id, size, SHA-256 and central's
signed receipt) as proof of delivery; tombstones older than
``retention.tombstone_days`` are deleted, at start and then every hour.
Captures never reach the disk, and the daemon's logs go to journald, whose own
retention (``MaxRetentionSec=`` in ``systemd/journald.conf.d/``) applies.
"""

from __future__ import annotations

import asyncio
import logging

from appliance.config.model import RetentionConfig
from appliance.outbox import Outbox
from appliance.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

INTERVAL_S = 3600.0


class Retention:
    def __init__(self, outbox: Outbox, config: RetentionConfig) -> None:
        self._outbox = outbox
        self._tombstone_s = config.tombstone_days * 86400.0
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        expired = await asyncio.to_thread(self._outbox.expire_tombstones, self._tombstone_s)
        if expired:
            logger.info("retention: %d delivery tombstones expired", expired)
        return expired

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
