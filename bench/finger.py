"""Fingerprint pipeline figures: ``python bench/finger.py --json``.

- ``nfiq2_ms_per_finger``: median NFIQ 2 (nbis-py) time for one 500 ppi finger;
- ``wsq_ms_per_finger``: median WSQ encode time (wsq Pillow plugin) for the same;
- ``set_442_s``: wall time to segment and score a whole 4-4-2 set (3 slaps, 10
  fingers) as the daemon does, each slap's fingers at once in its NFIQ 2 worker
  processes (:class:`appliance.finger.nbis_pool.NbisWorkers`, one per core up to
  four: ``workers``), and ``set_442_serial_s`` for the same in this process, one
  finger after another (the baseline); ``set_442_speedup`` is their ratio (medians
  of ``ROUNDS`` interleaved rounds);
- ``peak_rss_mb`` of this process and ``worker_rss_mb`` of each worker.
The ANSI/NIST-ITL and ISO records are timed by ``bench/workflow.py`` (``fingers/done``).
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from appliance.config.quality import FingerQualityThresholds
from appliance.finger.nbis_pool import NbisWorkers
from appliance.finger.quality import IN_PROCESS, FingerScorer, assess_finger, assess_fingers
from appliance.finger.segment import segment_slap
from bench.memory import rss_mb
from drivers.interfaces import CaptureKind, FingerPosition
from drivers.sim.fingerprint_synth import synthesize_finger, synthesize_slap

ROUNDS = 5
SLAPS = [
    (CaptureKind.SLAP_RIGHT_FOUR, "right", 4),
    (CaptureKind.SLAP_LEFT_FOUR, "left", 4),
    (CaptureKind.SLAP_THUMBS, "thumbs", 2),
]


def process_slap(job: tuple[np.ndarray, str, int], scorer: FingerScorer) -> list[int | None]:
    pixels, hand, expected = job
    result = segment_slap(pixels, expected, hand)
    crops = [pixels[y : y + h, x : x + w] for x, y, w, h in (f.box for f in result.fingers)]
    return [a.nfiq2 for a in assess_fingers(crops, FingerQualityThresholds(), scorer)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import wsq  # noqa: F401 - registers the WSQ codec
    from PIL import Image

    fingers = [synthesize_finger(seed, FingerPosition.RIGHT_INDEX) for seed in range(8)]
    limits = FingerQualityThresholds()
    assess_finger(fingers[0], limits)  # load the NFIQ 2 model once
    nfiq, wsq_ms = [], []
    for image in fingers:
        start = time.perf_counter()
        assess_finger(image, limits)
        nfiq.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        Image.fromarray(image).save(io.BytesIO(), format="WSQ")
        wsq_ms.append((time.perf_counter() - start) * 1000)
    jobs = [(synthesize_slap(21, kind).pixels, hand, n) for kind, hand, n in SLAPS]
    workers = NbisWorkers()
    try:
        workers.start()  # every worker up, its NFIQ 2 model loaded
        serial_runs, parallel_runs = [], []
        for _ in range(ROUNDS):  # the first round of each also pages their models in
            start = time.perf_counter()
            serial = [process_slap(job, IN_PROCESS) for job in jobs]
            serial_runs.append(time.perf_counter() - start)
            start = time.perf_counter()
            parallel = [process_slap(job, workers) for job in jobs]
            parallel_runs.append(time.perf_counter() - start)
            assert parallel == serial
        worker_rss = [rss_mb(pid) for pid in workers.pids()]
    finally:
        workers.close()
    serial_s, parallel_s = statistics.median(serial_runs), statistics.median(parallel_runs)
    result = {
        "nfiq2_ms_per_finger": round(statistics.median(nfiq), 1),
        "wsq_ms_per_finger": round(statistics.median(wsq_ms), 1),
        "set_442_s": round(parallel_s, 2),
        "set_442_serial_s": round(serial_s, 2),
        "set_442_speedup": round(serial_s / parallel_s, 2),
        "rounds": ROUNDS,
        "workers": workers.workers,
        "fingers_scored": sum(len(s) for s in serial),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "worker_rss_mb": [round(mb, 1) for mb in worker_rss],
    }
    print(json.dumps(result) if args.json else result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
