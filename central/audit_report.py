"""What central knows of kiosks' records of operations and ledgers, for reports.

- :func:`audit_report`: per device, the entries held and the accepted checkpoint;
  every flag (rewritten or truncated history); every day's latest ledger with its
  reconciliation against central's receipts; and the statistics across sites
  (:func:`transparency.statistics.summarise`, the same arithmetic as the
  kiosk's Statistics page), in total and per site.
- ``appliance-receiver statistics``: the same aggregation for a period, as JSON
  or CSV (one row per kiosk and day).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from central.storage import CentralStorage
from transparency.ledger import DayLedger, LedgerError, read_ledger
from transparency.statistics import summarise, summarise_by, to_csv


async def day_ledgers(
    storage: CentralStorage, first_day: str | None = None, last_day: str | None = None
) -> list[tuple[DayLedger, Any]]:
    found = []
    for held in await storage.audit.ledgers():
        if (first_day and held.day < first_day) or (last_day and held.day > last_day):
            continue
        try:
            found.append((read_ledger(held.note), held))
        except LedgerError:
            continue
    return found


async def audit_report(storage: CentralStorage) -> dict[str, Any]:
    audit = storage.audit
    states = await audit.states()
    flags = await audit.flags()
    ledgers = await day_ledgers(storage)
    return {
        "audit": {
            "devices": [
                {
                    "device_id": s.device_id,
                    "entries_held": s.entries_held,
                    "checkpoint_size": s.checkpoint_size,
                    "checkpoint_time": s.checkpoint_time,
                    "flagged": s.flagged,
                }
                for s in states
            ],
            "flags": [
                {
                    "device_id": f.device_id,
                    "kind": f.kind,
                    "checkpoint_size": f.checkpoint_size,
                    "detail": f.detail,
                    "at": f.at.isoformat(),
                }
                for f in flags
            ],
        },
        "ledgers": {
            "days": [
                {
                    "device_id": held.device_id,
                    "site_id": held.site_id,
                    "day": held.day,
                    "revision": held.revision,
                    "delivered": ledger.counts["delivered"],
                    "completed": ledger.counts["completed"],
                    "receipts_issued": held.receipts,
                    "matches_receipts": held.matches,
                    "missing_at_kiosk": list(held.missing_at_kiosk),
                    "unknown_at_central": list(held.unknown_at_central),
                }
                for ledger, held in ledgers
            ],
            "mismatches": sum(1 for _, held in ledgers if not held.matches),
            "statistics": summarise(ledger for ledger, _ in ledgers),
            "by_site": summarise_by((ledger for ledger, _ in ledgers), "site_id"),
        },
    }


def statistics(argv: Sequence[str]) -> int:
    """``appliance-receiver statistics --dir DIR [--from DAY] [--to DAY] [--csv]``."""
    from central.admin import add_storage_flags, open_from_args

    parser = argparse.ArgumentParser(
        prog="appliance-receiver statistics",
        description="the service ledger across sites: totals, averages, rates (JSON) or CSV",
    )
    parser.add_argument("--dir", type=Path, required=True, help="state directory")
    add_storage_flags(parser)
    parser.add_argument("--from", dest="first", default=None, help="first day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="last", default=None, help="last day (YYYY-MM-DD)")
    parser.add_argument("--csv", action="store_true", help="one CSV row per kiosk and day")
    args = parser.parse_args(argv)
    if args.database is None and not (args.dir / "store").is_dir():
        print(f"appliance-receiver statistics: no receiver state in {args.dir}", file=sys.stderr)
        return 2

    async def run() -> list[DayLedger]:
        storage = await open_from_args(args)
        try:
            return [ledger for ledger, _ in await day_ledgers(storage, args.first, args.last)]
        finally:
            await storage.close()

    import json

    ledgers = asyncio.run(run())
    if args.csv:
        sys.stdout.write(to_csv(ledgers))
    else:
        print(
            json.dumps(
                {"total": summarise(ledgers), "by_site": summarise_by(ledgers, "site_id")},
                sort_keys=True,
            )
        )
    return 0
