"""NFIQ 2 in worker processes: the daemon's own scores, and nothing lost when a worker dies."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import cv2
import pytest

from appliance.config.quality import FingerQualityThresholds
from appliance.finger.nbis_calls import compare_minutiae
from appliance.finger.nbis_pool import NbisWorkerError, NbisWorkers
from appliance.finger.quality import IN_PROCESS, assess_fingers
from drivers.interfaces import FingerPosition
from drivers.sim.fingerprint_synth import synthesize_finger

LIMITS = FingerQualityThresholds()
FINGERS = [
    synthesize_finger(seed, position)  # synthetic prints, no one's fingers
    for seed, position in (
        (5, FingerPosition.RIGHT_INDEX),
        (5, FingerPosition.RIGHT_MIDDLE),
        (6, FingerPosition.LEFT_RING),
        (7, FingerPosition.LEFT_LITTLE),
    )
]


@pytest.fixture(scope="module")
def workers() -> Iterator[NbisWorkers]:
    pool = NbisWorkers(2)
    pool.start()
    yield pool
    pool.close()


def test_workers_score_a_slap_as_the_daemon_itself_would(workers: NbisWorkers) -> None:
    pooled = assess_fingers(FINGERS, LIMITS, workers)
    local = assess_fingers(FINGERS, LIMITS, IN_PROCESS)
    assert [a.nfiq2 for a in pooled] == [a.nfiq2 for a in local]
    assert all(a.nfiq2 is not None for a in pooled)
    assert [a.actionable for a in pooled] == [a.actionable for a in local]
    assert [a.accepted for a in pooled] == [a.accepted for a in local]
    # The minutiae come back as an ISO/IEC 19794-2 record: bozorth3 scores them as the originals.
    for mine, theirs in zip(pooled, local, strict=True):
        assert compare_minutiae(mine.minutiae, theirs.minutiae) == compare_minutiae(
            theirs.minutiae, theirs.minutiae
        )
    assert len(workers.pids()) == 2


def test_a_blank_finger_never_reaches_nbis(workers: NbisWorkers) -> None:
    blank = FINGERS[0] * 0 + 255
    first, second = assess_fingers([blank, FINGERS[1]], LIMITS, workers)
    assert first.nfiq2 is None and first.reason == "no finger on the sensor (blank image)"
    assert second.nfiq2 is not None


def test_a_worker_that_dies_loses_the_request_not_the_daemon(workers: NbisWorkers) -> None:
    for pid in workers.pids():
        os.kill(pid, signal.SIGKILL)
    lost = assess_fingers(FINGERS[:2], LIMITS, workers)
    # The fingers read as unscored (the flow captures the slap again), with a reason.
    assert [a.nfiq2 for a in lost] == [None, None]
    assert all(not a.accepted for a in lost)
    assert all("NFIQ 2 could not compute a score (WorkerLost)" == a.reason for a in lost)
    # The next request gets fresh workers.
    again = assess_fingers(FINGERS[:2], LIMITS, workers)
    assert all(a.nfiq2 is not None for a in again)


def test_a_finger_nbis_cannot_read_is_an_answer_not_a_crash(workers: NbisWorkers) -> None:
    (answer,) = workers.score_all([b"\x89PNG\r\n\x1a\n but not really"])
    assert isinstance(answer, str)  # the NBIS error's name, e.g. "NbisError.ImageError"
    ok, png = cv2.imencode(".png", FINGERS[2])
    assert ok
    (scored,) = workers.score_all([bytes(png)])
    assert not isinstance(scored, str)


def test_workers_that_cannot_score_stop_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("appliance.finger.nbis_pool._synthetic_finger_png", lambda: b"not an image")
    pool = NbisWorkers(1)
    try:
        with pytest.raises(NbisWorkerError, match="cannot score a finger"):
            pool.start()
    finally:
        pool.close()


def test_closed_workers_are_gone_and_answer_lost() -> None:
    pool = NbisWorkers(1)
    pool.start()
    (pid,) = pool.pids()
    pool.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    _, png = cv2.imencode(".png", FINGERS[0])
    assert pool.score_all([bytes(png)]) == ["WorkerLost"]
