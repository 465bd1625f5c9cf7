"""Small asyncio helpers shared by the long-running services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait until it has finished unwinding."""
    if task is None or task.done():
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class BackgroundTasks:
    """Tasks a service starts and must not lose.

    Each task is kept until it ends (so it cannot be garbage-collected mid-run);
    a task that fails has its exception logged and handed to ``on_failure``, so
    the service can show it to the operator instead of losing it.
    """

    def __init__(self, on_failure: Callable[[str, BaseException], None]) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._on_failure = on_failure

    def start(self, name: str, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        if self.running(name):
            work.close()
            raise RuntimeError(f"background task {name} is already running")
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks[name] = task
        task.add_done_callback(self._done)
        return task

    def running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    def task(self, name: str) -> asyncio.Task[Any] | None:
        return self._tasks.get(name)

    async def cancel(self, name: str) -> None:
        await cancel_and_wait(self._tasks.get(name))

    async def cancel_all(self) -> None:
        for task in list(self._tasks.values()):
            await cancel_and_wait(task)
        self._tasks.clear()

    def _done(self, task: asyncio.Task[Any]) -> None:
        name = task.get_name()
        if self._tasks.get(name) is task:
            del self._tasks[name]
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            logger.error("background task %s failed", name, exc_info=error)
            self._on_failure(name, error)
