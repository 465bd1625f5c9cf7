"""``appliance run --config FILE``: start the daemon in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("run", help="run the appliance daemon")
    parser.add_argument("--config", type=Path, required=True, help="YAML config file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.app import Appliance
    from appliance.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    from appliance.logging_setup import configure

    configure(config.logging.level, config.logging.json_logs)
    from appliance.identity.software_key import KeyStoreError
    from appliance.models_check import StartupError

    try:
        asyncio.run(Appliance(config).run_until_stopped())
    except (OSError, KeyStoreError, StartupError) as exc:
        print(f"appliance run: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0
