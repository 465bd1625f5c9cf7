"""``appliance photo-check FILE... --json``: ICAO compliance of portrait files.

One JSON object per file and line::

    {"file", "compliant", "faces", "failed": [check names],
     "checks": {name: {"value", "score", "limit", "passed"}}, "ms"}

A missing, unreadable or non-image file gets ``"error"`` and the other files
still run. Exit status: 0 when every file is compliant, 1 when one is not or
could not be read.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("photo-check", help="ICAO photo-quality check of portrait files")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--config", type=Path, default=None, help="take limits from this config")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.face.quiet import native_stderr_silenced

    with native_stderr_silenced(args.log_level != "DEBUG"):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from appliance.cli.main import CliError
    from appliance.face.engine import PhotoQualityEngine
    from appliance.face.imageio import ImageReadError, read_image
    from appliance.face.models import ModelError

    thresholds = None
    if args.config is not None:
        from appliance.config.loader import ConfigError, load_config

        try:
            thresholds = load_config(args.config).quality.face
        except ConfigError as exc:
            raise CliError(str(exc)) from exc
    engine: PhotoQualityEngine | None = None  # loaded with the first readable image
    status = 0
    try:
        for path in args.files:
            started = time.perf_counter()
            record: dict[str, Any] = {"file": str(path)}
            try:
                image = read_image(path)
            except ImageReadError as exc:
                record["error"] = str(exc)
                record["ms"] = round((time.perf_counter() - started) * 1000, 1)
                status = 1
                _emit(record, args.json)
                continue
            if engine is None:
                try:
                    engine = PhotoQualityEngine(thresholds)
                except ModelError as exc:
                    raise CliError(str(exc)) from exc
            report = engine.assess(image)
            record.update(report.as_json())
            record["ms"] = round((time.perf_counter() - started) * 1000, 1)
            if not report.compliant:
                status = 1
            _emit(record, args.json)
    finally:
        if engine is not None:
            engine.close()
    return status


def _emit(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(record), flush=True)
        return
    if "error" in record:
        print(f"{record['file']}: error: {record['error']}")
    elif record["compliant"]:
        print(f"{record['file']}: compliant ({record['ms']} ms)")
    else:
        print(f"{record['file']}: NOT compliant: {', '.join(record['failed'])}")
