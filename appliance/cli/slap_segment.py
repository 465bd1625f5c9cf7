"""``appliance slap-segment FILE --expect N [--hand right|left|thumbs] --json``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("slap-segment", help="split a slap into fingers, with NFIQ 2 each")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument(
        "--expect",
        type=int,
        required=True,
        help="fingers expected (4 for a hand, 2 for thumbs, fewer if missing)",
    )
    parser.add_argument(
        "--hand",
        choices=["right", "left", "thumbs"],
        default=None,
        help="which slap, to assign finger positions (FGP codes)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.cli.main import CliError
    from appliance.config.quality import FingerQualityThresholds
    from appliance.finger.io import read_gray
    from appliance.finger.quality import FingerImageError, assess_finger
    from appliance.finger.segment import segment_slap

    if not 1 <= args.expect <= 4:
        raise CliError("--expect must be between 1 and 4")
    thresholds = FingerQualityThresholds()
    failures = 0
    for path in args.files:
        started = time.perf_counter()
        try:
            image = read_gray(path)
            result = segment_slap(image, args.expect, args.hand)
            fingers = []
            for finger in result.fingers:
                x, y, w, h = finger.box
                quality = assess_finger(image[y : y + h, x : x + w], thresholds)
                fingers.append(
                    {"position": int(finger.position), "box": [x, y, w, h], "nfiq2": quality.nfiq2}
                )
            row: dict[str, object] = {
                "file": str(path),
                "count": len(result.fingers),
                "ok": result.ok,
                "reason": result.reason,
                "fingers": fingers,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
        except (FingerImageError, ValueError) as exc:
            failures += 1
            row = {
                "file": str(path),
                "error": str(exc),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
        if args.json:
            print(json.dumps(row), flush=True)
        elif "error" in row:
            print(f"{path}: error: {row['error']}", file=sys.stderr)
        else:
            print(f"{path}: {row['count']} finger(s), {'ok' if row['ok'] else row['reason']}")
    return 1 if failures else 0
