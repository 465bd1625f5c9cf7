"""The kiosk's case directory: lookups online or from the day list, check-ins, the list's life.

:class:`CaseDirectory` is built by the composition root and used by the
workflow's start step (:mod:`appliance.workflow.case_step`):

- :meth:`~CaseDirectory.lookup` asks central (``LookupCase``) within
  ``cases.lookup_timeout_s``; when central cannot be reached it answers from
  today's signed day list, and says so (``Source.DAY_LIST``);
- :meth:`~CaseDirectory.check_in` queues the check-in durably and wakes the
  sender, which delivers it exactly once (:mod:`.checkins`), now or when central
  is back;
- in the background it pulls today's list at start and every
  ``cases.day_list_refresh_s``, and at the end of the day (site time zone)
  deletes it and pulls the next day's;
- :meth:`~CaseDirectory.appointments` gives the day's appointments to whoever
  counts no-shows (the service ledger).

Every lookup, check-in and day list is reported to ``record_operation`` (the
record of operations, ``appliance.audit``), with the events and fields of its
catalogue: ``case.lookup`` (operator, case_reference, mode online|offline,
outcome found|closed|not_found|other_site|unavailable), ``case.check_in``
(operator, case_reference, mode online|queued), ``case.check_in_sent``
(case_reference), ``appointments.listed`` (day, count, case_digests when a
``pseudonymise`` function is given) and ``appointments.purged`` (day, count). The
audit log stores case references as keyed digests. Logs carry no case
reference, name or code.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from appliance.cases.checkins import CheckInQueue, QueueStatus
from appliance.cases.client import CaseClient, Refused, Unreachable
from appliance.cases.day_list import DayListStore
from appliance.cases.model import CaseCheck, CheckInTicket, Outcome, Source, outcome_of
from appliance.tasks import cancel_and_wait
from packet.daylist import CaseAppointment, DayListInvalid, valid_reference

logger = logging.getLogger(__name__)

#: record_operation(event, fields): the audit log's entry point (no-op by default).
RecordOperation = Callable[[str, dict[str, object]], None]

#: How a lookup's outcome is named in the record of operations.
AUDIT_OUTCOME = {
    Outcome.FOUND: "found",
    Outcome.CLOSED: "closed",
    Outcome.NOT_FOUND: "not_found",
    Outcome.OTHER_SITE: "other_site",
    Outcome.NOT_IN_DAY_LIST: "not_found",
    Outcome.UNVERIFIABLE: "unavailable",
}


def _no_record(event: str, fields: dict[str, object]) -> None:
    pass


@dataclass(frozen=True)
class CaseSettings:
    """The ``cases`` config section, as the directory uses it."""

    time_zone: str = "Europe/Lisbon"
    lookup_timeout_s: float = 3.0
    day_list_refresh_s: float = 900.0
    checkin_retry_max_s: float = 300.0


@dataclass(frozen=True)
class CasesStatus:
    """What the technician and the start screen see of the directory."""

    day_list_day: str | None
    day_list_appointments: int
    day_list_fetched_at: float | None
    day_list_error: str | None
    check_ins_pending: int
    check_ins_oldest_age_s: float
    check_in_error: str | None


class CaseDirectory:
    def __init__(
        self,
        client: CaseClient | None,
        day_lists: DayListStore,
        queue: CheckInQueue,
        settings: CaseSettings,
        *,
        record_operation: RecordOperation = _no_record,
        pseudonymise: Callable[[str], str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``pseudonymise(case_reference)``: the audit log's keyed digest (for no-shows)."""
        self._client = client
        self.day_lists = day_lists
        self.queue = queue
        self.settings = settings
        self._zone = ZoneInfo(settings.time_zone)
        self._record = record_operation
        self._pseudonymise = pseudonymise
        self._listed: dict[date, frozenset[str]] = {}  # appointment codes recorded as listed
        self._clock = clock
        self._wake_sender = asyncio.Event()
        self._sending = asyncio.Lock()  # one delivery pass at a time: each row sent once
        self._tasks: list[asyncio.Task[None]] = []
        self.day_list_error: str | None = None
        self.day_list_fetched_at: float | None = None
        self.check_ins_refused = 0  # refused for good by central since start (logged)

    # ------------------------------------------------------------------ time

    def today(self) -> date:
        return self._clock().astimezone(self._zone).date()

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """Start and end (UTC) of ``day`` in the site's time zone."""
        start = datetime.combine(day, time(0), self._zone)
        end = datetime.combine(day + timedelta(days=1), time(0), self._zone)
        return start.astimezone(UTC), end.astimezone(UTC)

    # ---------------------------------------------------------------- lookups

    async def lookup(self, reference: str, operator: str = "") -> CaseCheck:
        """Who ``reference`` (case reference or appointment code) names; never raises."""
        check = await self._lookup(reference)
        self._record(
            "case.lookup",
            {
                "operator": operator,
                "case_reference": check.case.case_reference if check.case else reference,
                "mode": "offline" if check.offline else "online",
                "outcome": AUDIT_OUTCOME[check.outcome],
            },
        )
        logger.info("case lookup: %s (%s)", check.outcome.value, check.source.value)
        return check

    async def _lookup(self, reference: str) -> CaseCheck:
        if not valid_reference(reference):
            return CaseCheck(reference, Outcome.NOT_FOUND, Source.ONLINE)
        if self._client is not None:
            try:
                found, case = await self._client.lookup(reference, self.settings.lookup_timeout_s)
            except Unreachable as exc:
                logger.warning("central unreachable for a lookup (%s): using the day list", exc)
            except Refused as exc:
                logger.error("central refused a lookup (%s): using the day list", exc.reason)
            else:
                if case is not None:
                    return CaseCheck(reference, outcome_of(case), Source.ONLINE, case)
                return CaseCheck(reference, Outcome(found), Source.ONLINE)
        listed = self.day_lists.for_day(self.today())
        if listed is None:
            return CaseCheck(reference, Outcome.UNVERIFIABLE, Source.NONE)
        case = listed.find(reference)
        if case is None:
            return CaseCheck(reference, Outcome.NOT_IN_DAY_LIST, Source.DAY_LIST)
        return CaseCheck(reference, outcome_of(case), Source.DAY_LIST, case)

    def appointments(self, day: date) -> list[CaseAppointment]:
        """``day``'s appointments at this site from the signed list ([] if not held)."""
        listed = self.day_lists.for_day(day)
        return list(listed.appointments) if listed is not None else []

    # --------------------------------------------------------------- check-in

    def check_in(self, check: CaseCheck, operator: str = "") -> CheckInTicket | None:
        """Queue the check-in of ``check``'s appointment (durable before returning)."""
        if check.case is None:
            return None
        ticket = CheckInTicket(
            check_in_id=str(uuid.uuid4()),
            appointment_code=check.case.appointment_code,
            checked_in_at=self._clock(),
            verified_offline=check.offline,
            case_reference=check.case.case_reference,
        )
        self.queue.add(ticket)
        self._record(
            "case.check_in",
            {
                "operator": operator,
                "case_reference": check.case.case_reference,
                "mode": "queued" if check.offline else "online",
            },
        )
        self._wake_sender.set()
        return ticket

    async def deliver_check_ins(self) -> bool:
        """Send every queued check-in; False when central could not be reached."""
        if self._client is None:
            return False
        async with self._sending:
            return await self._deliver(self._client)

    async def _deliver(self, client: CaseClient) -> bool:
        for ticket in self.queue.pending():
            try:
                recorded = await client.check_in(ticket, self.settings.lookup_timeout_s)
            except Unreachable as exc:
                self.queue.failed(ticket.check_in_id, str(exc))
                return False
            except Refused as exc:
                self.queue.remove(ticket.check_in_id)
                self.check_ins_refused += 1
                logger.error("central refused a check-in for good (%s)", exc.reason)
                continue
            self.queue.remove(ticket.check_in_id)
            self._record("case.check_in_sent", {"case_reference": ticket.case_reference})
            if recorded != ticket.check_in_id:
                logger.info("the appointment was already checked in by an earlier check-in")
        return True

    # --------------------------------------------------------------- day list

    async def refresh_day_list(self) -> bool:
        """Pull, verify and keep today's list (and purge other days); False on failure."""
        today = self.today()
        self.day_lists.purge(today)
        if self._client is None:
            return False
        try:
            signed = await self._client.day_list(today, max(10.0, self.settings.lookup_timeout_s))
            # Verifying and sealing a full list takes a few hundred ms: off the event loop.
            listed = await asyncio.to_thread(self.day_lists.accept, signed, today)
        except (Unreachable, Refused) as exc:
            self.day_list_error = "unreachable" if isinstance(exc, Unreachable) else "refused"
            logger.warning("day list not refreshed: %s", exc)
            return False
        except DayListInvalid as exc:
            self.day_list_error = f"invalid:{exc.code}"
            logger.error("central's day list refused: %s", exc.code)
            return False
        if listed.time_zone != self.settings.time_zone:
            logger.warning("central's time zone for this site differs from site.timezone")
        self._record_listed(today, listed.appointments)
        self.day_list_error = None
        self.day_list_fetched_at = self._clock().timestamp()
        return True

    def _record_listed(self, day: date, appointments: tuple[CaseAppointment, ...]) -> None:
        """``appointments.listed`` once per day, and again only when the list changed."""
        codes = frozenset(a.appointment_code for a in appointments)
        if self._listed.get(day) == codes:
            return
        self._listed = {day: codes}
        fields: dict[str, object] = {"day": day.isoformat(), "count": len(appointments)}
        if self._pseudonymise is not None:
            fields["case_digests"] = sorted(
                {self._pseudonymise(a.case_reference) for a in appointments}
            )
        self._record("appointments.listed", fields)

    def end_of_day(self) -> list[date]:
        """Purge what is not today's (the list of a day that ended); returns the days."""
        held = self.day_lists.current
        removed = self.day_lists.purge(self.today())
        if removed:
            logger.info("purged the day list of %s", ", ".join(d.isoformat() for d in removed))
            for day in removed:
                count = len(held.appointments) if held is not None and held.day == day else 0
                self._record("appointments.purged", {"day": day.isoformat(), "count": count})
        return removed

    # ------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Load today's list from disk, then keep it fresh and the queue flowing."""
        self.day_lists.purge(self.today())
        await asyncio.to_thread(self.day_lists.load, self.today())
        self._tasks = [
            asyncio.create_task(self._day_list_loop(), name="cases-day-list"),
            asyncio.create_task(self._sender_loop(), name="cases-check-ins"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks = []
        self.queue.close()

    async def _day_list_loop(self) -> None:
        while True:
            try:
                await self.refresh_day_list()
            except Exception:  # a loop that dies would leave the kiosk without its list
                logger.exception("day list refresh failed")
            until_midnight = (self.day_bounds(self.today())[1] - self._clock()).total_seconds()
            delay = min(self.settings.day_list_refresh_s, max(1.0, until_midnight + 1.0))
            if self.day_lists.for_day(self.today()) is None:
                delay = min(delay, 30.0)  # no list yet: try again soon
            await asyncio.sleep(delay)
            self.end_of_day()

    async def _sender_loop(self) -> None:
        backoff = 1.0
        while True:
            try:
                delivered = await self.deliver_check_ins()
            except Exception:
                logger.exception("check-in delivery failed")
                delivered = False
            if delivered:
                backoff, delay = 1.0, 60.0
            else:
                delay = random.uniform(0, backoff)
                backoff = min(backoff * 2, self.settings.checkin_retry_max_s)
            self._wake_sender.clear()
            try:
                await asyncio.wait_for(self._wake_sender.wait(), timeout=delay)
            except TimeoutError:
                pass

    def status(self) -> CasesStatus:
        listed = self.day_lists.for_day(self.today())
        queue: QueueStatus = self.queue.status()
        return CasesStatus(
            day_list_day=listed.day.isoformat() if listed else None,
            day_list_appointments=len(listed.appointments) if listed else 0,
            day_list_fetched_at=self.day_list_fetched_at,
            day_list_error=self.day_list_error,
            check_ins_pending=queue.pending,
            check_ins_oldest_age_s=queue.oldest_age_s,
            check_in_error=queue.last_error,
        )
