"""``appliance config validate FILE`` and ``appliance config schema``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("config", help="validate a config file or print its JSON schema")
    actions = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    validate = actions.add_parser("validate", help="check a config file; name each bad key")
    validate.add_argument("file", type=Path, help="YAML config file")
    validate.set_defaults(func=run_validate)
    schema = actions.add_parser("schema", help="print the config JSON schema")
    schema.set_defaults(func=run_schema)


def run_validate(args: argparse.Namespace) -> int:
    from appliance.config import ConfigError, load_config

    try:
        config = load_config(args.file)
    except ConfigError as exc:
        print(f"{args.file}: invalid config ({len(exc.problems)} problem(s))", file=sys.stderr)
        for problem in exc.problems:
            print(f"{args.file}:{problem}", file=sys.stderr)
        return 1
    print(f"{args.file}: valid ({config.profile} profile, site {config.site.claim_id})")
    return 0


def run_schema(args: argparse.Namespace) -> int:
    from appliance.config import ApplianceConfig

    print(json.dumps(ApplianceConfig.model_json_schema(), indent=2, sort_keys=True))
    return 0
