"""NFIQ 2 in worker processes: the fingers of a slap are scored at once.

NBIS (mindtct and NFIQ 2) keeps global state in C, so one process scores one
finger at a time (:mod:`appliance.finger.nbis_calls`), and a slap's four
fingers took four NFIQ 2 runs in a row on the operator's wait. :class:`NbisWorkers`
keeps ``workers`` processes (started with ``forkserver``: the daemon has threads,
which ``fork`` must not copy), each with its own NBIS and NFIQ 2 model; a slap's
fingers go to them together. A worker answers with the score, the actionable
measures and the minutiae as an ISO/IEC 19794-2:2005 record, which the daemon
loads back for the same-hand check (bozorth3 scores the reloaded minutiae as the
originals: checked in ``tests/test_finger_pool.py``).

A worker that dies (NBIS crashing on an image) or hangs takes only that request
down: its fingers read "NFIQ 2 could not compute a score", the flow captures the
slap again, and the next request starts fresh workers. The daemon itself never
loads the NFIQ 2 model; only the minutiae extractor for the same-hand check.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool

from appliance.finger.nbis_calls import (
    NbisFailure,
    NbisScore,
    WorkerAnswer,
    answer_png,
    from_answer,
)
from appliance.memory import configure_malloc

logger = logging.getLogger(__name__)

#: Seconds one request (a slap's fingers) may take before its workers are replaced.
REQUEST_TIMEOUT_S = 60.0
#: A Raspberry Pi has four cores; more workers than fingers in a slap buy nothing.
MAX_WORKERS = 4


def default_workers() -> int:
    """One worker per core, up to a slap's four fingers."""
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


class NbisWorkerError(RuntimeError):
    """The NFIQ 2 workers cannot start (e.g. the NBIS library fails to load)."""


class NbisWorkers:
    """A :class:`appliance.finger.quality.FingerScorer` over worker processes."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._closed = False

    def start(self) -> None:
        """Start every worker and score a synthetic finger on each (raises NbisWorkerError)."""
        try:
            answers = self._map([_synthetic_finger_png()] * self.workers)
        except (OSError, BrokenProcessPool, concurrent.futures.TimeoutError) as exc:
            raise NbisWorkerError(f"the NFIQ 2 worker processes did not start: {exc}") from None
        failed = [a for a in answers if isinstance(a, str)]
        if failed:
            raise NbisWorkerError(f"the NFIQ 2 workers cannot score a finger: {failed[0]}")

    def score_all(self, pngs: Sequence[bytes]) -> list[NbisScore | NbisFailure]:
        try:
            answers = self._map(list(pngs))
        except (
            BrokenProcessPool,
            concurrent.futures.TimeoutError,
            concurrent.futures.CancelledError,
        ) as exc:
            logger.warning("NFIQ 2 workers lost (%s); starting new ones", type(exc).__name__)
            self._discard()
            return ["WorkerLost"] * len(pngs)
        return [from_answer(answer) for answer in answers]

    def pids(self) -> list[int]:
        """The worker processes running now (benchmarks and tests)."""
        with self._lock:
            processes = (getattr(self._pool, "_processes", None) or {}).values()
            return [p.pid for p in processes if p.pid is not None]

    def close(self) -> None:
        """Stop the workers (pending requests read as lost); the pool cannot be used again."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            _stop(pool)

    def _map(self, pngs: list[bytes]) -> list[WorkerAnswer]:
        pool = self._executor()
        futures = [pool.submit(answer_png, png) for png in pngs]
        _, pending = concurrent.futures.wait(futures, timeout=REQUEST_TIMEOUT_S)
        if pending:
            raise concurrent.futures.TimeoutError(f"{len(pending)} fingers unscored")
        return [future.result() for future in futures]

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise BrokenProcessPool("the NFIQ 2 workers are stopped")
            if self._pool is None:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("forkserver"),
                    initializer=configure_malloc,
                )
            return self._pool

    def _discard(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            _stop(pool)


def _stop(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Shut a pool down without waiting on a hung worker: kill what is still running."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join(5)


def _synthetic_finger_png() -> bytes:
    """A generated finger (no one's) that loads each worker's NFIQ 2 model."""
    import cv2

    from drivers.interfaces import FingerPosition
    from drivers.sim.fingerprint_synth import synthesize_finger

    ok, png = cv2.imencode(".png", synthesize_finger(0, FingerPosition.RIGHT_INDEX))
    if not ok:
        raise NbisWorkerError("cannot encode the warm-up finger")
    return bytes(png)
