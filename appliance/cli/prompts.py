"""``appliance prompts render``: the applicant's spoken prompts, made at install time.

Runs Debian's espeak-ng over the applicant catalogs (see
:mod:`appliance.i18n.audio`) and prints one JSON object. Without espeak-ng it
says so and exits 0 unless ``--require`` is given (audio is optional).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from appliance.cli.main import CliError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("prompts", help="render the applicant's audio prompts (espeak-ng)")
    parser.add_argument("action", choices=["render", "list"])
    parser.add_argument("--dir", type=Path, default=None, help="prompts directory")
    parser.add_argument(
        "--require", action="store_true", help="fail when espeak-ng is missing (image builds)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.i18n import audio

    directory = args.dir or audio.prompts_dir()
    if args.action == "render":
        try:
            count = audio.render(directory)
        except audio.PromptError as exc:
            if args.require:
                raise CliError(str(exc)) from exc
            print(json.dumps({"dir": str(directory), "rendered": 0, "skipped": str(exc)}))
            return 0
        print(json.dumps({"dir": str(directory), "rendered": count}))
        return 0
    print(json.dumps({"dir": str(directory), "available": audio.available(directory)}))
    return 0
