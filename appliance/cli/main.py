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
import os
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
    "appliance.cli.doc_chip",
    "appliance.cli.audit",
    "appliance.cli.cases",
    "appliance.cli.prompts",
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
    except BrokenPipeError:
        return _closed_pipe()
    except Exception as exc:  # last resort: a clear line, never a traceback
        logger.debug("command %s failed", args.command, exc_info=True)
        print(
            f"appliance {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(run with --log-level DEBUG for details)",
            file=sys.stderr,
        )
        return 1
    try:
        sys.stdout.flush()  # a reader that went away surfaces here, not at interpreter exit
    except BrokenPipeError:
        return _closed_pipe()
    return result


#: What a Unix tool killed by SIGPIPE reports (128 + 13).
EXIT_CLOSED_PIPE = 141


def _closed_pipe() -> int:
    """The reader of our output went away (``| head``, ``| grep -q``): stop quietly.

    Python's flush at exit would raise again on the dead pipe, so stdout is
    pointed at /dev/null first.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_CLOSED_PIPE
