"""Face engine figures: ``python bench/face.py --json``.

- ``full_check_ms``: median time of the full ICAO check (28 checks, detection,
  mesh, iris, segmentation) on a 640x800 portrait;
- ``guidance_ms_per_frame``: median time of the per-frame guidance path on a
  640x480 preview frame, on ONE core (OpenCV threads = 1), and the fps it allows
  (goal: >= 30 fps on one core);
- ``peak_rss_mb`` with the models loaded;
- the same timings for a naive baseline (mean brightness + variance of the
  Laplacian, no face model), measured in the same run, and the ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from appliance.face.engine import PhotoQualityEngine
from appliance.face.guidance import GuidanceEngine
from drivers.sim.portrait import PortraitScene, render_portrait


def naive(image: np.ndarray) -> tuple[float, float]:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return float(grey.mean()), float(cv2.Laplacian(grey, cv2.CV_64F).var())


def median_ms(func, items, repeat: int = 1) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        for item in items:
            start = time.perf_counter()
            func(item)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    portraits = [render_portrait(PortraitScene(), 640, 800, seed=s) for s in range(5)]
    frames = [render_portrait(PortraitScene(distance=0.8), 640, 480, seed=s) for s in range(10)]
    engine = PhotoQualityEngine()
    guidance = GuidanceEngine(engine)
    engine.assess(portraits[0])  # warm-up: model loading, first inference
    guidance.analyse(frames[0])
    full = median_ms(engine.assess, portraits, repeat=3)
    per_frame = median_ms(guidance.analyse, frames, repeat=max(1, args.frames // len(frames)))
    base_full = median_ms(naive, portraits, repeat=20)
    base_frame = median_ms(naive, frames, repeat=20)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.close()
    figures = {
        "full_check_ms": round(full, 1),
        "guidance_ms_per_frame": round(per_frame, 2),
        "guidance_fps_one_core": round(1000 / per_frame, 1),
        "peak_rss_mb": round(rss, 1),
        "baseline_full_ms": round(base_full, 2),
        "baseline_frame_ms": round(base_frame, 2),
        "full_vs_baseline": round(full / base_full, 1),
        "frame_vs_baseline": round(per_frame / base_frame, 1),
        "goal_30fps_met": 1000 / per_frame >= 30,
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>24}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
