"""MRZ reader figures: ``python bench/documents.py --json``.

On the generated SPECIMEN set (:mod:`appliance.documents.specimen_set`, seed
18: readable, expired, tampered and unreadable photos), for the chosen reader
(PP-OCRv6 recogniser on two crops voted with PP-OCRv4) and, in the same run,
the baseline (PP-OCRv4 alone, the second candidate) and PP-OCRv6 alone:

- ``whole_mrz_accuracy``: readable and expired photos whose every character was
  read right (a reading reported ``unreadable`` counts as wrong);
- ``field_accuracy``: the same per field;
- ``verdict_accuracy`` per category; ``false_valid``: tampered or unreadable
  photos reported ``valid`` (must be 0);
- ``ms_per_document`` (median): onnxruntime and OpenCV one thread per inference, an
  MRZ's lines read side by side on ``line_threads`` threads as in the daemon
  (:data:`appliance.documents.mrz_reader.LINE_THREADS`: the cores, up to three);
- ``ratios``: chosen / baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2

from appliance.documents import mrz_models
from appliance.documents.mrz_parse import parse
from appliance.documents.mrz_reader import LINE_THREADS, MrzReader
from appliance.documents.specimen_set import generate

EXPECTED = {
    "readable": "valid",
    "expired": "expired",
    "tampered": "check_digit",
    "unreadable": "unreadable",
}
FIELDS = (
    "document_type",
    "issuer",
    "document_number",
    "nationality",
    "birth_date",
    "sex",
    "expiry_date",
    "surname",
    "given_names",
    "optional_data",
)


def evaluate(reader: MrzReader, cases: list, today: date) -> dict:  # type: ignore[type-arg]
    times: list[float] = []
    whole = readable = false_valid = 0
    field_ok = dict.fromkeys(FIELDS, 0)
    verdicts: dict[str, list[int]] = {}
    for case in cases:
        start = time.perf_counter()
        result = reader.read(case.image, today)
        times.append((time.perf_counter() - start) * 1000)
        hit = verdicts.setdefault(case.category, [0, 0])
        hit[0] += result.verdict == EXPECTED[case.category]
        hit[1] += 1
        if case.category in ("tampered", "unreadable") and result.verdict == "valid":
            false_valid += 1
        if case.category in ("readable", "expired"):
            readable += 1
            got = result.record if result.verdict != "unreadable" else None
            whole += got is not None and got.lines == case.lines
            truth = parse(case.lines, today).fields_json()
            for name in FIELDS:
                field_ok[name] += got is not None and got.fields_json()[name] == truth[name]
    return {
        "whole_mrz_accuracy": round(whole / max(1, readable), 4),
        "field_accuracy": {k: round(v / max(1, readable), 4) for k, v in field_ok.items()},
        "verdict_accuracy": {k: round(a / b, 4) for k, (a, b) in verdicts.items()},
        "false_valid": false_valid,
        "ms_per_document": round(statistics.median(times), 1),
        "ms_p90": round(sorted(times)[int(0.9 * (len(times) - 1))], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--readable", type=int, default=60)
    parser.add_argument("--expired", type=int, default=8)
    parser.add_argument("--tampered", type=int, default=12)
    parser.add_argument("--unreadable", type=int, default=10)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    today = date.today()
    counts = {k: getattr(args, k) for k in EXPECTED}
    cases = list(generate(args.seed, counts, today))
    readers = {
        "chosen_ppocr_v6_x2_plus_v4": MrzReader(threads=1),
        "ppocr_v6_alone": MrzReader(threads=1, second=None),
        "baseline_ppocr_v4_alone": MrzReader(
            threads=1, recogniser=mrz_models.BASELINE_RECOGNISER, second=None
        ),
    }
    for reader in readers.values():  # warm-up: first inference allocates
        reader.read(cases[0].image, today)
    figures = {name: evaluate(reader, cases, today) for name, reader in readers.items()}
    chosen, baseline = figures["chosen_ppocr_v6_x2_plus_v4"], figures["baseline_ppocr_v4_alone"]
    out = {
        "set": {"seed": args.seed, **counts},
        "line_threads": LINE_THREADS,
        "candidates": figures,
        "ratios": {
            "whole_mrz_accuracy_vs_baseline": round(
                chosen["whole_mrz_accuracy"] / max(1e-9, baseline["whole_mrz_accuracy"]), 3
            ),
            "ms_per_document_vs_baseline": round(
                chosen["ms_per_document"] / max(1e-9, baseline["ms_per_document"]), 3
            ),
        },
    }
    print(json.dumps(out) if args.json else json.dumps(out, indent=2))
    return 0 if chosen["false_valid"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
