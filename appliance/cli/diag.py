"""``appliance diag --out FILE.tar.gz [--config FILE]``: a redacted bundle for technicians."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("diag", help="write a redacted diagnostics bundle (.tar.gz)")
    parser.add_argument("--out", type=Path, required=True, help="output .tar.gz")
    parser.add_argument("--config", type=Path, default=None, help="appliance config file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.diag import build_bundle

    results = build_bundle(args.out, args.config)
    for name, state in results.items():
        print(f"{name}: {state}")
    print(f"wrote {args.out}")
    return 0
