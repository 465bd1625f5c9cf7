"""Entry point of the ``appliance`` command.

Each sub-command lives in its own module under :mod:`appliance.cli` and
exposes ``add_parser(sub)`` and ``run(args) -> int``. Modules keep heavy
imports (OpenCV, mediapipe, gRPC) inside ``run`` so that ``appliance --help``
and light commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from appliance import __version__

logger = logging.getLogger(__name__)

#: Sub-command modules, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "appliance.cli.run",
    "appliance.cli.config",
    "appliance.cli.demo",
    "appliance.cli.provision",
    "appliance.cli.identity",
    "appliance.cli.finger_check",
    "appliance.cli.slap_segment",
    "appliance.cli.udev_rules",
    "appliance.cli.diag",
    "appliance.cli.hil",
    "appliance.cli.models",
    "appliance.cli.photo_check",
    "appliance.cli.doc_check",
    "appliance.cli.account",
)


class CliError(Exception):
    """A user-facing error: printed as one line, exit code 2, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="appliance",
        description="Edge biometric-capture appliance for CLAIM 2G kiosks.",
    )
    parser.add_argument("--version", action="version", version=f"appliance {__version__}")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level for CLI commands (the daemon takes its level from the config)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level, stream=sys.stderr)
    try:
        result: int = func(args)
    except CliError as exc:
        print(f"appliance {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # last resort: a clear line, never a traceback
        logger.debug("command %s failed", args.command, exc_info=True)
        print(
            f"appliance {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(run with --log-level DEBUG for details)",
            file=sys.stderr,
        )
        return 1
    return result
