"""Administrative sub-commands of ``appliance-receiver``: init, report, revoke, statistics,
cases.

They talk to the same storage as the replicas (``--database``/``--objects``, or the
embedded store under ``--dir``), so they work while replicas keep serving.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from central.storage import CentralStorage, open_storage


def add_storage_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        default=None,
        help="PostgreSQL URL (postgresql://USER@HOST:PORT/DB) of the distributed back end",
    )
    parser.add_argument(
        "--objects",
        default=None,
        help="S3 location (s3://BUCKET[/PREFIX]?endpoint=URL) of the distributed back end",
    )


async def open_from_args(args: argparse.Namespace) -> CentralStorage:
    return await open_storage(args.dir, database=args.database, objects=args.objects)


def _parser(name: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"appliance-receiver {name}", description=description)
    parser.add_argument("--dir", type=Path, required=True, help="state directory")
    return parser


def init(argv: Sequence[str]) -> int:
    from central.cases.setup import day_list_signer
    from central.server import load_or_create_state
    from packet.keys import Suite

    parser = _parser(
        "init", "create the receiver identity (device CA, keys, TLS and day-list certificates)"
    )
    parser.add_argument("--host", action="append", default=[], help="server certificate name")
    parser.add_argument("--suite", choices=["x25519", "mlkem768x25519"], default="x25519")
    args = parser.parse_args(argv)
    suite = Suite.X25519 if args.suite == "x25519" else Suite.MLKEM768_X25519

    async def run() -> None:
        state = load_or_create_state(
            args.dir, hosts=args.host or ["127.0.0.1", "localhost"], suite=suite
        )
        day_list_signer(args.dir, state.ca)  # shared by replicas, like the keys above
        await state.storage.close()

    asyncio.run(run())
    print(json.dumps({"ca": str(args.dir / "ca" / "ca.pem")}))
    return 0


def report(argv: Sequence[str]) -> int:
    parser = _parser("report", "what central holds, as JSON")
    add_storage_flags(parser)
    parser.add_argument("--json", action="store_true", help="print JSON (the only format)")
    args = parser.parse_args(argv)
    if args.database is None and not (args.dir / "store").is_dir():
        print(f"appliance-receiver report: no receiver state in {args.dir}", file=sys.stderr)
        return 2

    async def run() -> dict[str, Any]:
        from central.audit_report import audit_report

        storage = await open_from_args(args)
        try:
            packets = [
                {
                    "packet_id": stored.packet_id,
                    "device_id": stored.device_id,
                    "case_reference": str(manifest.get("case_reference", "")),
                    "commits": stored.commits,
                    "items": [
                        {
                            "type": item.get("type"),
                            "name": item.get("name"),
                            "quality": sorted(item.get("quality", {})),
                        }
                        for item in manifest.get("items", [])
                    ],
                }
                for stored, manifest in await storage.packets_with_manifests()
            ]
            return {"packets": packets, **await audit_report(storage)}
        finally:
            await storage.close()

    print(json.dumps(asyncio.run(run())))
    return 0


def revoke(argv: Sequence[str]) -> int:
    parser = _parser("revoke", "revoke a device certificate (every replica honours it)")
    add_storage_flags(parser)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--serial", help="certificate serial number (hex)")
    which.add_argument("--device", help="device id: revoke every certificate issued to it")
    args = parser.parse_args(argv)

    async def run() -> int:
        storage = await open_from_args(args)
        try:
            serial = None if args.serial is None else int(args.serial, 16)
            return await storage.revoke(serial=serial, device_id=args.device)
        finally:
            await storage.close()

    count = asyncio.run(run())
    print(json.dumps({"revoked": count}))
    return 0 if count else 3


def statistics(argv: Sequence[str]) -> int:
    from central.audit_report import statistics as run

    return run(argv)


def cases(argv: Sequence[str]) -> int:
    """``cases seed`` / ``cases check-ins`` (central.cases.admin)."""
    from central.cases.admin import cases as run

    return run(argv)


ADMIN_COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "cases": cases,
    "init": init,
    "report": report,
    "revoke": revoke,
    "statistics": statistics,
}
