"""Statistics over daily ledgers: the same arithmetic on the kiosk and across sites at central.

:func:`summarise` adds up any set of :class:`~transparency.ledger.DayLedger` (one
kiosk's days for the supervisor's page, or every site's for central) into
totals, averages and rates, each with the figures it was computed from:

- average wall time per enrolment: ``sum(timing.wall_ms) / sum(timing.timed)``
  (start to sealed, enrolments with both); average software time likewise from
  ``timing.software_ms`` (time spent inside capture and sealing calls);
- quality reject rate per check: ``rejects / attempts`` of that check;
- no-show rate: ``no_shows / appointments`` over the days that had an
  appointment list (``no_show_basis == "day_list"``); null without one.

:func:`csv_rows` lays the days out one per row for a CSV export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from transparency.ledger import COUNT_KEYS, DayLedger

CSV_COLUMNS = (
    "day",
    "site_id",
    "device_id",
    *COUNT_KEYS,
    "appointments",
    "no_shows",
    "avg_wall_s",
    "avg_software_s",
    "reject_rate",
)


@dataclass
class Summary:
    days: int = 0
    sites: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    timed: int = 0
    wall_ms: int = 0
    software_ms: int = 0
    appointments: int = 0
    no_shows: int = 0
    days_with_list: int = 0
    quality: dict[str, list[int]] = field(default_factory=dict)  # check -> [attempts, rejects]

    def add(self, ledger: DayLedger) -> None:
        self.days += 1
        self.sites.add(ledger.site_id)
        self.devices.add(ledger.device_id)
        for key in COUNT_KEYS:
            self.counts[key] += ledger.counts.get(key, 0)
        self.timed += ledger.timing.get("timed", 0)
        self.wall_ms += ledger.timing.get("wall_ms", 0)
        self.software_ms += ledger.timing.get("software_ms", 0)
        if ledger.no_show_basis == "day_list" and ledger.appointments is not None:
            self.days_with_list += 1
            self.appointments += ledger.appointments
            self.no_shows += ledger.no_shows or 0
        for check, figures in ledger.quality.items():
            total = self.quality.setdefault(check, [0, 0])
            total[0] += figures.get("attempts", 0)
            total[1] += figures.get("rejects", 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "sites": sorted(self.sites),
            "devices": len(self.devices),
            "counts": dict(self.counts),
            "avg_wall_s": _ratio(self.wall_ms, self.timed, 1000),
            "avg_software_s": _ratio(self.software_ms, self.timed, 1000),
            "timed_enrolments": self.timed,
            "no_show_rate": _ratio(self.no_shows, self.appointments),
            "appointments": self.appointments if self.days_with_list else None,
            "no_shows": self.no_shows if self.days_with_list else None,
            "reject_rates": {
                check: {
                    "attempts": attempts,
                    "rejects": rejects,
                    "rate": _ratio(rejects, attempts),
                }
                for check, (attempts, rejects) in sorted(self.quality.items())
            },
        }


def summarise(ledgers: Iterable[DayLedger]) -> dict[str, Any]:
    summary = Summary()
    for ledger in ledgers:
        summary.add(ledger)
    return summary.to_json()


def summarise_by(ledgers: Iterable[DayLedger], key: str) -> dict[str, dict[str, Any]]:
    """One summary per ``site_id`` or ``device_id``."""
    groups: dict[str, Summary] = {}
    for ledger in ledgers:
        groups.setdefault(str(getattr(ledger, key)), Summary()).add(ledger)
    return {name: summary.to_json() for name, summary in sorted(groups.items())}


def csv_rows(ledgers: Iterable[DayLedger]) -> list[dict[str, Any]]:
    rows = []
    for ledger in sorted(ledgers, key=lambda d: (d.day, d.site_id, d.device_id)):
        attempts = sum(v.get("attempts", 0) for v in ledger.quality.values())
        rejects = sum(v.get("rejects", 0) for v in ledger.quality.values())
        timed = ledger.timing.get("timed", 0)
        rows.append(
            {
                "day": ledger.day,
                "site_id": ledger.site_id,
                "device_id": ledger.device_id,
                **{key: ledger.counts.get(key, 0) for key in COUNT_KEYS},
                "appointments": "" if ledger.appointments is None else ledger.appointments,
                "no_shows": "" if ledger.no_shows is None else ledger.no_shows,
                "avg_wall_s": _cell(_ratio(ledger.timing.get("wall_ms", 0), timed, 1000)),
                "avg_software_s": _cell(_ratio(ledger.timing.get("software_ms", 0), timed, 1000)),
                "reject_rate": _cell(_ratio(rejects, attempts)),
            }
        )
    return rows


def to_csv(ledgers: Iterable[DayLedger]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in csv_rows(ledgers):
        writer.writerow(row)
    return out.getvalue()


def _ratio(numerator: int, denominator: int, scale: int = 1) -> float | None:
    if not denominator:
        return None
    return round(numerator / denominator / scale, 4)


def _cell(value: float | None) -> str | float:
    return "" if value is None else value
