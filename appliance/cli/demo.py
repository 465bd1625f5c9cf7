"""``appliance demo --enrolments N --json``: the end-to-end store-and-forward demo."""

from __future__ import annotations

import argparse
import asyncio
import sys


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "demo", help="run N simulated enrolments through sealing, outbox and upload"
    )
    parser.add_argument("--enrolments", type=int, default=10, help="number of enrolments")
    parser.add_argument("--json", action="store_true", help="last line is a JSON summary")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.cli.main import CliError
    from appliance.demo import run_demo

    if not 1 <= args.enrolments <= 10_000:
        raise CliError("--enrolments must be between 1 and 10000")
    from appliance.face.quiet import native_stderr_silenced

    with native_stderr_silenced(args.log_level != "DEBUG"):
        result = asyncio.run(run_demo(args.enrolments, progress=not args.json))
    if args.json:
        print(result.to_json())
    else:
        print(
            f"{result.delivered}/{result.enrolments} delivered, {result.lost} lost, "
            f"{result.duplicates} duplicates, {result.with_quality} with ICAO and NFIQ 2 "
            f"figures, record of operations verified: {result.audit_verified}, ledger matches "
            f"receipts: {result.ledger_matches_receipts}, in {result.seconds:.1f} s"
        )
    if result.lost or result.duplicates or result.with_quality != result.enrolments:
        print("demo: some enrolments were not delivered exactly once", file=sys.stderr)
        return 1
    if not (result.audit_verified and result.ledger_matches_receipts):
        print("demo: the record of operations or the ledger did not verify", file=sys.stderr)
        return 1
    return 0
