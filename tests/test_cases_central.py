"""Central's case service: the store, synthetic cases, site scope, idempotent check-in, the
signed day list - over the real gRPC contract on loopback, with a kiosk enrolled for its site.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import grpc
import pytest

from aima.enrolment.v1 import cases_pb2, cases_pb2_grpc
from appliance.cases.client import CaseClient, Refused
from appliance.cases.model import CheckInTicket
from appliance.uplink.client import error_reason
from central.cases.sqlite_store import SqliteCaseStore
from central.cases.store import CheckInRecord
from central.cases.synthetic import OTHER_SITE, synthetic_case, synthetic_day
from packet.daylist import CASE_REFERENCE, DayListInvalid, parse_day_list
from tests.cases_world import SITE, ZONE, close_case_world, make_case_world

pytestmark = pytest.mark.timeout(120)


def test_synthetic_cases_are_invented_deterministic_and_varied() -> None:
    day = dt.date(2026, 11, 23)
    first = synthetic_day(SITE, day, 10, ZONE)
    assert first == synthetic_day(SITE, day, 10, ZONE)  # same site and day, same people
    statuses = [case.status for case, _ in first]
    assert statuses.count("open") == 12 and statuses.count("closed") == 2
    assert statuses.count("suspended") == 1
    assert {a[0].site_id for _, a in first} == {SITE, OTHER_SITE}
    for case, appointments in first:
        assert case.full_name.endswith("Sintético") and case.document_number.startswith("SYN")
        assert CASE_REFERENCE.fullmatch(case.case_reference)
        window = appointments[0]
        assert window.window_start.astimezone(dt.UTC).date() == day  # within the day
    assert {c.case_reference for c, _ in first}.isdisjoint(
        {c.case_reference for c, _ in synthetic_day(SITE, day + dt.timedelta(days=1), 10, ZONE)}
    )


async def test_embedded_store_first_check_in_wins(tmp_path: Path) -> None:
    store = SqliteCaseStore(tmp_path / "cases.sqlite")
    start = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)
    case, appointments = synthetic_case("AIMA-2026-000123", SITE, start)
    await store.add_case(case, appointments)
    await store.add_case(case, appointments)  # idempotent
    assert await store.case("AIMA-2026-000123") == case
    code = appointments[0].appointment_code
    assert await store.appointment(code) == appointments[0]
    day = await store.appointments_starting(SITE, start, start + dt.timedelta(hours=1))
    assert day == [(case, appointments[0])]
    assert await store.appointments_starting(SITE, start + dt.timedelta(hours=1), start) == []

    def attendance(check_in_id: str, minute: int) -> CheckInRecord:
        at = start + dt.timedelta(minutes=minute)
        return CheckInRecord(check_in_id, code, "dev-1", at, False, at)

    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    recorded = await store.check_in(attendance(first, 1))
    assert recorded is not None and recorded.check_in_id == first
    again = await store.check_in(attendance(second, 5))  # another kiosk, later
    assert again == recorded  # one attendance, the first one
    assert await store.check_ins(SITE, start, start + dt.timedelta(days=1)) == [recorded]
    assert await store.time_zone(SITE) == "Europe/Lisbon"
    await store.set_time_zone(SITE, "Atlantic/Azores")
    assert await store.time_zone(SITE) == "Atlantic/Azores"
    await store.close()


async def test_lookup_is_limited_to_the_kiosk_site(tmp_path: Path) -> None:
    world = await make_case_world(tmp_path)
    try:
        directory = world.directory()
        client = CaseClient(world.channels[-1])
        case, appointments = world.open_cases()[0]
        found, data = await client.lookup(case.case_reference, 5)
        assert found == "found" and data is not None
        assert (data.full_name, data.document_number) == (case.full_name, case.document_number)
        assert data.appointment_code == appointments[0].appointment_code
        by_code = await client.lookup(appointments[0].appointment_code, 5)
        assert by_code == ("found", data)
        elsewhere = next(c for c, a in world.seeded if a[0].site_id == OTHER_SITE)
        assert await client.lookup(elsewhere.case_reference, 5) == ("other_site", None)
        code_elsewhere = next(
            a[0].appointment_code for _, a in world.seeded if a[0].site_id == OTHER_SITE
        )
        assert await client.lookup(code_elsewhere, 5) == ("other_site", None)
        assert await client.lookup("AIMA-2026-00000000", 5) == ("not_found", None)
        assert await client.lookup("APT-00000000", 5) == ("not_found", None)
        with pytest.raises(Refused) as refused:
            await client.lookup("not a reference", 5)
        assert refused.value.reason == "INVALID_REFERENCE"
        closed = next(c for c, _ in world.seeded if c.status == "closed")
        check = await directory.lookup(closed.case_reference)
        assert check.outcome.value == "closed" and check.case is not None
    finally:
        await close_case_world(world)


async def test_check_in_is_idempotent_and_refuses_for_good(tmp_path: Path) -> None:
    world = await make_case_world(tmp_path)
    try:
        world.directory()
        client = CaseClient(world.channels[-1])
        _, appointments = world.open_cases()[1]
        now = dt.datetime.now(dt.UTC)
        ticket = CheckInTicket(str(uuid.uuid4()), appointments[0].appointment_code, now, False)
        assert await client.check_in(ticket, 5) == ticket.check_in_id
        assert await client.check_in(ticket, 5) == ticket.check_in_id  # a retry
        later = CheckInTicket(str(uuid.uuid4()), ticket.appointment_code, now, True)
        assert await client.check_in(later, 5) == ticket.check_in_id  # attended once
        start = now - dt.timedelta(days=2)
        rows = await world.desk.store.check_ins(SITE, start, now + dt.timedelta(days=2))
        assert [r.check_in_id for r in rows] == [ticket.check_in_id]
        for bad, reason in [
            (CheckInTicket(str(uuid.uuid4()), "APT-00000000", now, False), "APPOINTMENT_NOT_FOUND"),
            (
                CheckInTicket(
                    str(uuid.uuid4()),
                    next(
                        a[0].appointment_code for _, a in world.seeded if a[0].site_id == OTHER_SITE
                    ),
                    now,
                    False,
                ),
                "APPOINTMENT_OTHER_SITE",
            ),
            (
                CheckInTicket(
                    str(uuid.uuid4()), ticket.appointment_code, now + dt.timedelta(hours=1), False
                ),
                "INVALID_CHECK_IN",
            ),
        ]:
            with pytest.raises(Refused) as refused:
                await client.check_in(bad, 5)
            assert refused.value.reason == reason
    finally:
        await close_case_world(world)


async def test_day_list_is_signed_for_this_site_device_and_day(tmp_path: Path) -> None:
    world = await make_case_world(tmp_path)
    try:
        directory = world.directory()
        client = CaseClient(world.channels[-1])
        today = directory.today()
        signed = await client.day_list(today, 5)
        listed = directory.day_lists.verify(signed, today)
        here = {a[0].appointment_code for _, a in world.seeded if a[0].site_id == SITE}
        assert {a.appointment_code for a in listed.appointments} == here  # not other sites'
        assert listed.device_id == world.identity.identity.device_id
        assert listed.not_after == directory.day_bounds(today)[1]
        assert parse_day_list(signed.signed_list) == listed
        stub = cases_pb2_grpc.CaseServiceStub(world.channels[-1])
        for day in ("2026-02-30", "yesterday", (today + dt.timedelta(days=3)).isoformat()):
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await stub.GetDayList(cases_pb2.GetDayListRequest(day=day), timeout=5)
            assert error_reason(failed.value) == "INVALID_DAY"
        with pytest.raises(DayListInvalid) as wrong:
            directory.day_lists.verify(signed, today + dt.timedelta(days=1))
        assert wrong.value.code == "wrong_day"
    finally:
        await close_case_world(world)
