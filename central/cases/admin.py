"""``appliance-receiver cases ...``: seed synthetic cases, list a day's check-ins.

    appliance-receiver cases seed --dir DIR --site SITE [--count N] [--day YYYY-MM-DD]
                                  [--database URL] --json
    appliance-receiver cases check-ins --dir DIR --site SITE [--day YYYY-MM-DD]
                                  [--database URL] --json

``seed`` adds :func:`central.cases.synthetic.synthetic_day` cases for SITE: N open
appointments (at most 1000 a day, further days after ``--day`` take the rest),
and prints the open ones as ``{"cases": [{"case_reference", "appointment_code",
"day"}, ...]}`` (invented people: the output is safe to show). ``check-ins``
prints the attendances of the day's appointments at SITE as ``{"check_ins":
[{"appointment_code", "check_in_id", "device_id", "checked_in_at",
"verified_offline"}, ...]}``. Both work while a receiver serves (SQLite WAL, or
PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from central.cases.setup import open_case_store
from central.cases.synthetic import MAX_COUNT, synthetic_day
from packet.timestamps import format_timestamp


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="appliance-receiver cases")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("seed", "check-ins"):
        command = sub.add_parser(name)
        command.add_argument("--dir", type=Path, required=True, help="state directory")
        command.add_argument("--site", required=True, help="CLAIM site id")
        command.add_argument("--day", default=None, help="YYYY-MM-DD (default: today there)")
        command.add_argument("--database", default=None, help="PostgreSQL URL (distributed)")
        command.add_argument("--json", action="store_true", help="print JSON (the only format)")
        if name == "seed":
            command.add_argument("--count", type=int, default=24, help="open appointments")
    return parser


async def _seed(args: argparse.Namespace) -> dict[str, Any]:
    store = await open_case_store(args.dir, args.database)
    try:
        zone_name = await store.time_zone(args.site)
        day = _day(args.day, zone_name)
        remaining, seeded = args.count, []
        while True:
            count = min(remaining, MAX_COUNT)
            for case, appointments in synthetic_day(args.site, day, count, zone_name):
                await store.add_case(case, appointments)
                if case.status == "open" and appointments[0].site_id == args.site:
                    seeded.append(
                        {
                            "case_reference": case.case_reference,
                            "appointment_code": appointments[0].appointment_code,
                            "day": day.isoformat(),
                        }
                    )
            remaining -= count
            if remaining <= 0:
                return {"cases": seeded}
            day += dt.timedelta(days=1)
    finally:
        await store.close()


async def _check_ins(args: argparse.Namespace) -> dict[str, Any]:
    store = await open_case_store(args.dir, args.database)
    try:
        zone_name = await store.time_zone(args.site)
        day, zone = _day(args.day, zone_name), ZoneInfo(zone_name)
        start = dt.datetime.combine(day, dt.time(0), zone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone)
        rows = await store.check_ins(args.site, start, end)
        return {
            "check_ins": [
                {
                    "appointment_code": row.appointment_code,
                    "check_in_id": row.check_in_id,
                    "device_id": row.device_id,
                    "checked_in_at": format_timestamp(row.checked_in_at),
                    "verified_offline": row.verified_offline,
                }
                for row in rows
            ]
        }
    finally:
        await store.close()


def _day(value: str | None, zone_name: str) -> dt.date:
    if value is None:
        return dt.datetime.now(ZoneInfo(zone_name)).date()
    return dt.date.fromisoformat(value)


def cases(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "seed" and not 1 <= args.count <= 100_000:
        raise ValueError("--count must be between 1 and 100000")
    work = _seed(args) if args.command == "seed" else _check_ins(args)
    print(json.dumps(asyncio.run(work)))
    return 0
