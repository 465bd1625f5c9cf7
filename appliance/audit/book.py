"""The service ledger's arithmetic: daily counts kept up to date from the log's entries.

:class:`LedgerBook` listens to the record of operations (every entry read at
open, then every new one) and keeps, per local day of the site's time zone,
what the ledger states (:mod:`transparency.ledger`):

- ``started``: ``enrolment.started``; ``completed``: ``enrolment.sealed`` (the
  packet is in the outbox); ``cancelled``: ``enrolment.cancelled`` and
  ``enrolment.discarded``; ``consent_refused``; ``exceptions``:
  ``exception.confirmed`` and ``case.override``; ``lookups``: ``case.lookup``;
  ``check_ins``: ``case.check_in``; ``capture_attempts``: ``capture.attempt``;
- ``delivered``: each ``packet.delivered``, on the local day of central's
  ``accepted_at`` (the receipt's own time), once per packet;
- timing: an enrolment sealed after its ``enrolment.started`` adds its wall
  time (start to sealed) and its software time (the ``duration_ms`` of its
  capture attempts and of the seal);
- quality: per attempt kind (``face``, ``slap``, ``document``) the attempts
  and rejects, and per check ``<kind>.<check>`` the attempts of that kind and
  those that failed the check;
- no-shows: the day's appointment list (``appointments.listed``, from the
  case service's offline day list) minus the cases checked in or started
  that day; without a list the ledger says ``no_show_basis: "none"``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from packet.timestamps import format_timestamp, parse_timestamp
from transparency.entries import Entry
from transparency.ledger import DayLedger, Delivery

#: Enrolments whose start is remembered while waiting for their seal (bounded).
MAX_OPEN_ENROLMENTS = 256
SLAP_KINDS_PREFIX = "slap"


@dataclass
class _Day:
    counts: dict[str, int] = field(default_factory=dict)
    delivered: dict[str, str] = field(default_factory=dict)
    timing: dict[str, int] = field(
        default_factory=lambda: {"timed": 0, "wall_ms": 0, "software_ms": 0}
    )
    attempts: dict[str, int] = field(default_factory=dict)  # kind -> attempts
    rejects: dict[str, int] = field(default_factory=dict)  # kind -> rejected attempts
    failed: dict[str, int] = field(default_factory=dict)  # kind.check -> attempts failing it
    listed: set[str] | None = None
    attended: set[str] = field(default_factory=set)

    def bump(self, key: str, by: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + by


@dataclass
class _Open:
    started: datetime
    software_ms: int = 0


class LedgerBook:
    def __init__(self, device_id: str, site_id: str, time_zone: str) -> None:
        self.device_id = device_id
        self.site_id = site_id
        self.zone = ZoneInfo(time_zone)
        self._days: dict[str, _Day] = {}
        self._open: OrderedDict[str, _Open] = OrderedDict()
        self._lock = threading.Lock()
        self.changed: set[str] = set()  # days touched since the caller last cleared it

    # --------------------------------------------------------------- listening

    def __call__(self, entry: Entry) -> None:
        with self._lock:
            self._take(entry)

    def _take(self, entry: Entry) -> None:
        moment = parse_timestamp(entry.time)
        day = self._day(self.day_of(moment))
        f = entry.fields
        event = entry.event
        simple = {
            "enrolment.started": "started",
            "enrolment.cancelled": "cancelled",
            "enrolment.discarded": "cancelled",
            "consent.refused": "consent_refused",
            "exception.confirmed": "exceptions",
            "case.override": "exceptions",
            "case.lookup": "lookups",
            "case.check_in": "check_ins",
            "capture.attempt": "capture_attempts",
        }
        if event in simple:
            day.bump(simple[event])
        if event == "enrolment.started":
            self._remember(f.get("workflow_id"), moment)
            if f.get("case_digest"):
                day.attended.add(str(f["case_digest"]))
        elif event == "case.check_in" and f.get("case_digest"):
            day.attended.add(str(f["case_digest"]))
        elif event == "capture.attempt":
            self._attempt(day, f)
        elif event == "enrolment.sealed":
            day.bump("completed")
            self._sealed(day, f, moment)
        elif event in ("enrolment.cancelled", "enrolment.discarded", "consent.refused"):
            self._open.pop(str(f.get("workflow_id")), None)
        elif event == "packet.delivered":
            self._delivered(f)
        elif event == "appointments.listed" and isinstance(f.get("case_digests"), list):
            listed = self._day(str(f.get("day") or self.day_of(moment)))
            listed.listed = {str(d) for d in f["case_digests"]}
            self.changed.add(str(f.get("day")))
        self.changed.add(self.day_of(moment))

    def _remember(self, workflow_id: object, moment: datetime) -> None:
        if not workflow_id:
            return
        self._open[str(workflow_id)] = _Open(moment)
        while len(self._open) > MAX_OPEN_ENROLMENTS:
            self._open.popitem(last=False)

    def _attempt(self, day: _Day, f: dict[str, object]) -> None:
        item = str(f.get("item") or "other")
        kind = SLAP_KINDS_PREFIX if item.startswith(SLAP_KINDS_PREFIX) else item
        day.attempts[kind] = day.attempts.get(kind, 0) + 1
        if f.get("accepted") is False:
            day.rejects[kind] = day.rejects.get(kind, 0) + 1
        failed = f.get("failed")
        for check in set(failed) if isinstance(failed, list) else ():
            name = f"{kind}.{check}"
            day.failed[name] = day.failed.get(name, 0) + 1
        opened = self._open.get(str(f.get("workflow_id")))
        duration = f.get("duration_ms")
        if opened is not None and isinstance(duration, int):
            opened.software_ms += duration

    def _sealed(self, day: _Day, f: dict[str, object], moment: datetime) -> None:
        opened = self._open.pop(str(f.get("workflow_id")), None)
        if opened is None:
            return
        duration = f.get("duration_ms")
        seal_ms = duration if isinstance(duration, int) else 0
        day.timing["timed"] += 1
        day.timing["wall_ms"] += max(0, round((moment - opened.started).total_seconds() * 1000))
        day.timing["software_ms"] += opened.software_ms + seal_ms

    def _delivered(self, f: dict[str, object]) -> None:
        accepted = f.get("accepted_at")
        packet = f.get("packet_id")
        if not isinstance(accepted, str) or not isinstance(packet, str):
            return
        name = self.day_of(parse_timestamp(accepted))
        self._day(name).delivered.setdefault(packet, accepted)
        self.changed.add(name)

    # ------------------------------------------------------------------ days

    def day_of(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).date().isoformat()

    def bounds(self, day: str) -> tuple[str, str]:
        """The UTC instants [start, end) a local day spans (DST days are 23 or 25 h)."""
        local = date.fromisoformat(day)
        start = datetime(local.year, local.month, local.day, tzinfo=self.zone)
        after = local + timedelta(days=1)
        end = datetime(after.year, after.month, after.day, tzinfo=self.zone)
        return format_timestamp(start.astimezone(UTC)), format_timestamp(end.astimezone(UTC))

    def _day(self, name: str) -> _Day:
        day = self._days.get(name)
        if day is None:
            day = self._days[name] = _Day()
        return day

    def take_changed(self) -> set[str]:
        """The days touched since the last call (and forget them)."""
        with self._lock:
            changed, self.changed = self.changed, set()
            return changed

    def days(self) -> list[str]:
        with self._lock:
            return sorted(self._days)

    def forget_before(self, day: str) -> None:
        with self._lock:
            for name in [d for d in self._days if d < day]:
                del self._days[name]

    def ledger(self, name: str) -> DayLedger:
        """The day's ledger as the log says now (``as_of``, revision and log head unset)."""
        with self._lock:
            day = self._days.get(name) or _Day()
            start, end = self.bounds(name)
            ledger = DayLedger(self.device_id, self.site_id, name, start, end)
            for key in ledger.counts:
                ledger.counts[key] = day.counts.get(key, 0)
            ledger.delivered = [Delivery(p, at) for p, at in sorted(day.delivered.items())]
            ledger.counts["delivered"] = len(ledger.delivered)
            ledger.timing = dict(day.timing)
            quality = {
                kind: {"attempts": n, "rejects": day.rejects.get(kind, 0)}
                for kind, n in day.attempts.items()
            }
            for name_, failed in day.failed.items():
                kind = name_.split(".", 1)[0]
                quality[name_] = {"attempts": day.attempts.get(kind, failed), "rejects": failed}
            ledger.quality = quality
            if day.listed is not None:
                ledger.no_show_basis = "day_list"
                ledger.appointments = len(day.listed)
                ledger.no_shows = len(day.listed - day.attended)
            return ledger
