"""Fingerprint pipeline figures: ``python bench/finger.py --json``.

- ``nfiq2_ms_per_finger``: median NFIQ 2 (nbis-py) time for one 500 ppi finger;
- ``wsq_ms_per_finger``: median WSQ encode time (wsq Pillow plugin) for the same;
- ``set_442_s``: wall time to segment and score a whole 4-4-2 set (3 slaps, 10
  fingers) with a process pool using both cores, and ``set_442_serial_s`` for one core;
- ``peak_rss_mb`` of this process.
Records (ANSI/NIST-ITL, ISO 19794-4) are not built yet, so they are not timed.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from appliance.config.quality import FingerQualityThresholds
from appliance.finger.quality import assess_finger
from appliance.finger.segment import segment_slap
from drivers.interfaces import CaptureKind, FingerPosition
from drivers.sim.fingerprint_synth import synthesize_finger, synthesize_slap

SLAPS = [
    (CaptureKind.SLAP_RIGHT_FOUR, "right", 4),
    (CaptureKind.SLAP_LEFT_FOUR, "left", 4),
    (CaptureKind.SLAP_THUMBS, "thumbs", 2),
]


def process_slap(job: tuple[np.ndarray, str, int]) -> list[int | None]:
    pixels, hand, expected = job
    result = segment_slap(pixels, expected, hand)
    scores = []
    for finger in result.fingers:
        x, y, w, h = finger.box
        scores.append(assess_finger(pixels[y : y + h, x : x + w], FingerQualityThresholds()).nfiq2)
    return scores


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
    start = time.perf_counter()
    serial = [process_slap(job) for job in jobs]
    serial_s = time.perf_counter() - start
    with ProcessPoolExecutor(max_workers=2) as pool:
        list(pool.map(process_slap, jobs[:1]))  # warm the workers (imports, NFIQ 2 model)
        start = time.perf_counter()
        parallel = list(pool.map(process_slap, jobs))
        parallel_s = time.perf_counter() - start
    assert parallel == serial
    result = {
        "nfiq2_ms_per_finger": round(statistics.median(nfiq), 1),
        "wsq_ms_per_finger": round(statistics.median(wsq_ms), 1),
        "set_442_s": round(parallel_s, 2),
        "set_442_serial_s": round(serial_s, 2),
        "fingers_scored": sum(len(s) for s in serial),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result) if args.json else result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
