"""``appliance audit``: check the record of operations, read one case's story, prove an entry.

    appliance audit verify [--state-dir DIR | --log DIR] [--json]
    appliance audit show --case REF [--state-dir DIR] [--json]
    appliance audit prove --index N [--state-dir DIR | --log DIR] [--json]

``verify`` checks every entry's hash, every checkpoint's signature and the
consistency between checkpoints, and names the first bad entry; it exits 1
when anything fails (``--log`` checks a copy of ``<state_dir>/audit``).
``show`` lists what was recorded about one case (its digest, the enrolments
started for it and everything during them). ``prove`` prints an entry with its
RFC 9162 inclusion proof, the signed checkpoint and the signing certificates,
for the audit team to check without trusting the kiosk.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

STATE_DIR = Path("/var/lib/appliance")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "audit", help="verify the record of operations, show a case, prove an entry"
    )
    actions = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="check hashes, signatures and consistency")
    _where(verify)
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.set_defaults(func=run_verify)
    show = actions.add_parser("show", help="what happened in one enrolment (by case reference)")
    show.add_argument("--case", required=True, help="the case reference")
    show.add_argument("--state-dir", type=Path, default=STATE_DIR)
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(func=run_show)
    prove = actions.add_parser("prove", help="an entry with its inclusion proof (audit team)")
    _where(prove)
    prove.add_argument("--index", type=int, required=True, help="the entry's index")
    prove.add_argument("--json", action="store_true", help="print one JSON object")
    prove.set_defaults(func=run_prove)


def _where(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--state-dir", type=Path, default=STATE_DIR)
    group.add_argument("--log", type=Path, default=None, help="an audit directory (or a copy)")


def _directory(args: argparse.Namespace) -> Path:
    chosen: Path = args.log if args.log is not None else args.state_dir / "audit"
    return chosen


def run_verify(args: argparse.Namespace) -> int:
    from appliance.audit import verify_log

    report = verify_log(_directory(args))
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        verdict = "verified" if report.ok else "FAILED"
        print(
            f"{verdict}: {report.entries} entries (from {report.base}), "
            f"{report.verified_checkpoints}/{report.checkpoints} checkpoints verified"
        )
        if report.first_bad_entry is not None:
            print(f"first bad entry: {report.first_bad_entry}")
        for problem in report.problems:
            where = [] if problem.index is None else [f"entry {problem.index}"]
            if problem.checkpoint is not None:
                where.append(f"checkpoint {problem.checkpoint}")
            print(f"  {', '.join(where) or 'log'}: {problem.what}")
        for warning in report.warnings:
            print(f"  warning: {warning}")
    return 0 if report.ok else 1


def run_show(args: argparse.Namespace) -> int:
    from appliance.audit import CaseKey, case_history, read_entries
    from appliance.cli.main import CliError

    key = CaseKey.load(args.state_dir)
    if key is None:
        raise CliError(f"no case key in {args.state_dir}: nothing was recorded on this kiosk")
    digest = key.digest(args.case)
    found = case_history(read_entries(args.state_dir / "audit"), digest)
    if args.json:
        rows = [
            {"index": e.index, "time": e.time, "event": e.event, "fields": e.fields} for e in found
        ]
        print(json.dumps({"case_digest": digest, "entries": rows}))
        return 0
    print(f"case digest {digest}: {len(found)} entries")
    for entry in found:
        details = ", ".join(f"{k}={v}" for k, v in sorted(entry.fields.items()))
        print(f"{entry.index:>8}  {entry.time}  {entry.event:<24} {details}")
    return 0


def run_prove(args: argparse.Namespace) -> int:
    from appliance.audit import inclusion_proof
    from appliance.cli.main import CliError

    try:
        bundle = inclusion_proof(_directory(args), args.index)
    except (ValueError, OSError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(bundle))
    else:
        print(f"entry {bundle['index']} in the tree of {bundle['tree_size']}: {bundle['entry']}")
        print(f"leaf hash {bundle['leaf_hash']}, verified: {bundle['verified']}")
        for step, node in enumerate(bundle["inclusion_path"]):
            print(f"  path[{step}] {node}")
        print(bundle["checkpoint"], end="")
    return 0 if bundle["verified"] else 1
