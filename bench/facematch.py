"""Face-match score distributions, FMR/FNMR at the threshold and ms per comparison.

Genuine pairs: a DG2-like rendering (320 px high, JPEG 2000 ~15 kB) of one photo
against capture-like variations of *another* photo of the same person, and of
the same photo for identities with one photo. Impostor pairs: every DG2 of one
identity against every live variation of every other identity. Public portraits
only (tests/public_portraits.py). One core: OpenCV and BLAS limited to 1 thread.
Prints one JSON object.

    python bench/facematch.py --json [--threshold 0.55]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from appliance.facematch.dg2 import decode_image
from appliance.facematch.matcher import DEFAULT_THRESHOLD, FaceMatcher
from tests.public_portraits import as_dg2, identities, live_variants


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    matcher = FaceMatcher(threshold=args.threshold)
    people = identities()
    documents = {
        who: [decode_image(as_dg2(photo))[0] for photo in photos] for who, photos in people.items()
    }
    lives = {who: [live_variants(photo) for photo in photos] for who, photos in people.items()}
    cache: dict[int, np.ndarray] = {}

    def emb(image: np.ndarray) -> np.ndarray:
        key = id(image)
        if key not in cache:
            cache[key] = matcher.embed(image)
        return cache[key]

    genuine: list[float] = []
    impostor: list[float] = []
    for who, docs in documents.items():
        for i, doc in enumerate(docs):
            for other, variants_per_photo in lives.items():
                for j, variants in enumerate(variants_per_photo):
                    same = other == who
                    if same and len(docs) > 1 and i == j:
                        continue  # a person with several photos: cross-photo pairs only
                    for live in variants.values():
                        d = float(np.linalg.norm(emb(doc) - emb(live)))
                        (genuine if same else impostor).append(d)
    # time per comparison: two embeddings (document + live) and the distance, uncached
    doc, live = documents["obama"][0], lives["obama"][1]["as_is"]
    baseline_doc, baseline_live = documents["astronaut"][0], lives["astronaut"][0]["as_is"]
    runs = 5
    started = time.perf_counter()
    for _ in range(runs):
        matcher.compare(doc, live)
    ms = (time.perf_counter() - started) * 1000 / runs
    started = time.perf_counter()
    for _ in range(runs):
        matcher.compare(baseline_doc, baseline_live)
    baseline_ms = (time.perf_counter() - started) * 1000 / runs
    t = args.threshold
    report = {
        "threshold": t,
        "genuine": {
            "n": len(genuine),
            "min": round(min(genuine), 4),
            "mean": round(statistics.mean(genuine), 4),
            "max": round(max(genuine), 4),
        },
        "impostor": {
            "n": len(impostor),
            "min": round(min(impostor), 4),
            "mean": round(statistics.mean(impostor), 4),
            "max": round(max(impostor), 4),
        },
        "fnmr": round(sum(d > t for d in genuine) / len(genuine), 4),
        "fmr": round(sum(d <= t for d in impostor) / len(impostor), 4),
        "gap_midpoint": round((max(genuine) + min(impostor)) / 2, 4),
        "ms_per_comparison": round(ms, 1),
        "ms_per_comparison_baseline_320px_pair": round(baseline_ms, 1),
        "ratio_vs_baseline": round(ms / baseline_ms, 2),
    }
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
