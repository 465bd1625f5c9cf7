"""``appliance hil [--simulated] [--json]``: the device conformance suite.

With ``--simulated`` it runs against the simulated reader and the real
U.are.U driver on the emulated USB device (with injected unplug, stall,
timeout, corrupt-frame and access faults). Without it, it runs against every
supported reader found on the USB bus; the technician places a finger when
asked on stderr. ``--json`` prints one object per check and, last, the
summary ``{"tests", "passed", "failed", "results"}``. Exit 0 when all pass.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "hil", help="device conformance suite (simulated/emulated or real readers)"
    )
    parser.add_argument(
        "--simulated",
        action="store_true",
        help="test the simulated reader and the emulated U.are.U USB device",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--target",
        action="append",
        default=None,
        metavar="PROVIDER",
        help="only these target providers (repeatable; default: all)",
    )
    parser.add_argument(
        "--finger-timeout",
        type=float,
        default=20.0,
        metavar="S",
        help="how long a capture waits for a finger on a real device (default 20 s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.cli.main import CliError
    from appliance.hil.model import TestResult
    from appliance.hil.registry import load_providers
    from appliance.hil.runner import run_suite, summary

    try:
        providers = load_providers(args.target)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    targets = [t for p in providers for t in p.targets(args.simulated)]

    def show(result: TestResult) -> None:
        if args.json:
            print(json.dumps(result.as_dict()), flush=True)
        else:
            verdict = "PASS" if result.passed else "FAIL"
            print(
                f"{verdict} {result.name:<16} {result.device:<20} {result.detail} "
                f"({result.ms:.0f} ms)",
                flush=True,
            )

    if targets:
        results = asyncio.run(
            run_suite(targets, finger_timeout_s=args.finger_timeout, on_result=show)
        )
    else:
        wanted = "; ".join(filter(None, (p.looking_for() for p in providers)))
        detail = f"no supported device found (looked for {wanted or 'nothing'})"
        print(f"appliance hil: {detail}; use --simulated to test without hardware", file=sys.stderr)
        results = [TestResult("discover", "usb", False, 0.0, detail)]
        show(results[0])
    report = summary(results)
    if args.json:
        print(json.dumps(report), flush=True)
    else:
        print(f"{report['tests']} tests, {report['passed']} passed, {report['failed']} failed")
    return 0 if report["failed"] == 0 and report["tests"] else 1
