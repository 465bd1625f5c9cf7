"""Feed systemd's watchdog only while every component's heartbeat is fresh.

Components call :meth:`Watchdog.beat` from their own loops; a stuck
component stops beating, the watchdog stops pinging, and systemd restarts the
service (``WatchdogSec=``, with ``StartLimitBurst=``/``StartLimitAction=`` as the
escalation ladder). Stale components are reported in ``STATUS=``.
"""

from __future__ import annotations

import asyncio
import logging
import time

from appliance.sdnotify import Notifier

logger = logging.getLogger(__name__)


class Watchdog:
    def __init__(self, notifier: Notifier, interval_s: float) -> None:
        self._notifier = notifier
        self._interval = interval_s
        self._limits: dict[str, float] = {}
        self._last: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def register(self, component: str, max_silence_s: float) -> None:
        self._limits[component] = max_silence_s
        self._last[component] = time.monotonic()

    def beat(self, component: str) -> None:
        self._last[component] = time.monotonic()

    def stale(self) -> list[str]:
        now = time.monotonic()
        return sorted(c for c, limit in self._limits.items() if now - self._last[c] > limit)

    def check(self) -> bool:
        """Ping systemd if everything is fresh; report the stale components otherwise."""
        stale = self.stale()
        if stale:
            self._notifier.status("stalled: " + ", ".join(stale))
            logger.error("watchdog withheld: stale components %s", ", ".join(stale))
            return False
        return self._notifier.watchdog()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="watchdog")

    async def stop(self) -> None:
        from appliance.tasks import cancel_and_wait

        await cancel_and_wait(self._task)
        self._task = None

    async def _loop(self) -> None:
        while True:
            self.beat("event-loop")
            self.check()
            await asyncio.sleep(self._interval)
