"""``appliance doc-check FILE... --json``: read and validate the MRZ of document photos.

One JSON object per file and line::

    {"file", "verdict": "valid"|"check_digit"|"expired"|"unreadable",
     "mrz": null | {"format": "TD1"|"TD2"|"TD3", "lines", "document_type", "issuer",
                    "document_number", "nationality", "birth_date", "sex",
                    "expiry_date", "surname", "given_names", "optional_data"},
     "failed_checks": [str], "ms"}

``format`` is the geometry: an MRV-A visa reports TD3, an MRV-B visa TD2,
with a ``document_type`` starting with V. A missing file, a directory, a
non-image or an image too large to decode safely gets ``"error"`` (and
``verdict`` ``unreadable``), and the other files still run. Exit status: 0
when every file is valid, 1 otherwise, 2 for bad usage or missing models.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("doc-check", help="read and validate the MRZ of identity documents")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--models", type=Path, default=None, help="models directory")
    parser.add_argument("--today", type=date.fromisoformat, default=None, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import cv2

    from appliance.cli.main import CliError
    from appliance.documents.imagefile import ImageFileError, read_document_image
    from appliance.documents.mrz_reader import MrzReader
    from appliance.face.models import ModelError

    cv2.setNumThreads(1)
    try:
        reader = MrzReader(args.models)
    except ModelError as exc:
        raise CliError(str(exc)) from exc
    status = 0
    for path in args.files:
        started = time.perf_counter()
        record: dict[str, Any] = {"file": str(path)}
        try:
            image = read_document_image(path)
        except ImageFileError as exc:
            record.update(
                {"verdict": "unreadable", "mrz": None, "failed_checks": [], "error": str(exc)}
            )
        else:
            record.update(reader.read(image, args.today).as_json())
        record["ms"] = round((time.perf_counter() - started) * 1000, 1)
        if record["verdict"] != "valid":
            status = 1
        _emit(record, args.json)
    return status


def _emit(record: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(record), flush=True)
    elif "error" in record:
        print(f"{record['file']}: error: {record['error']}")
    else:
        failed = f" ({', '.join(record['failed_checks'])})" if record["failed_checks"] else ""
        print(f"{record['file']}: {record['verdict']}{failed}")
