"""``appliance finger-check FILE... --json``: NFIQ 2 and feedback for single fingers."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("finger-check", help="NFIQ 2 quality of fingerprint images (500 ppi)")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--min-nfiq2",
        type=int,
        default=None,
        help="acceptance threshold (default: the config default, 35)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.config.quality import FingerQualityThresholds
    from appliance.finger.io import read_gray
    from appliance.finger.quality import FingerImageError, assess_finger

    thresholds = FingerQualityThresholds()
    if args.min_nfiq2 is not None:
        thresholds = FingerQualityThresholds(nfiq2_min=args.min_nfiq2)
    failures = 0
    for path in args.files:
        started = time.perf_counter()
        try:
            result = assess_finger(read_gray(path), thresholds)
        except FingerImageError as exc:
            failures += 1
            row: dict[str, object] = {
                "file": str(path),
                "error": str(exc),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
        else:
            row = {
                "file": str(path),
                "nfiq2": result.nfiq2,
                "accepted": result.accepted,
                "feedback": result.feedback,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
            if result.reason:
                row["reason"] = result.reason
        if args.json:
            print(json.dumps(row), flush=True)
        elif "error" in row:
            print(f"{path}: error: {row['error']}", file=sys.stderr)
        else:
            print(
                f"{path}: NFIQ 2 {row['nfiq2']}, {'accepted' if row['accepted'] else 'rejected'}"
                f" {' '.join(result.feedback)}"
            )
    return 1 if failures else 0
