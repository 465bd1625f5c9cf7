"""``appliance udev-rules``: print the udev rules for the approved-device allow-list."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("udev-rules", help="udev rules (GROUP, MODE 0660) for approved devices")
    parser.add_argument("--allowlist", type=Path, default=None, help="allow-list YAML")
    parser.add_argument("--group", default="appliance", help="group owning the device nodes")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.allowlist import DEFAULT_ALLOWLIST, load_approved
    from appliance.cli.main import CliError
    from appliance.udev_rules import render_rules

    path = args.allowlist or DEFAULT_ALLOWLIST
    try:
        devices = load_approved(path)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except (KeyError, ValueError, TypeError) as exc:
        raise CliError(f"{path} is not a valid allow-list: {exc}") from None
    print(render_rules(devices, args.group), end="")
    return 0
