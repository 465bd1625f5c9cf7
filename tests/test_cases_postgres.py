"""The case store on real PostgreSQL (Debian's, started here): the same contract as the
embedded store, and racing check-ins from several connections record one attendance."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.cases.postgres_store import PostgresCaseStore
from central.cases.store import CheckInRecord
from central.cases.synthetic import synthetic_case
from central.dev_engines import PG_BIN, PostgresServer

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.slow,
    pytest.mark.skipif(
        not (PG_BIN / "initdb").exists(), reason="Debian's postgresql is not installed"
    ),
]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    base = Path(tempfile.mkdtemp(prefix="claim-cases-"))
    base.chmod(0o755)  # the postgres user must reach its data directory
    server = PostgresServer(base / "pg")
    server.start()
    try:
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


async def test_postgres_case_store(postgres: PostgresServer) -> None:
    stores = [PostgresCaseStore(postgres.url) for _ in range(3)]  # three replicas
    for store in stores:
        await store.open()  # migrations applied once, whoever comes first
    store = stores[0]
    try:
        start = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)
        case, appointments = synthetic_case("AIMA-2026-000123", "CLAIM-T", start)
        await store.add_case(case, appointments)
        await stores[1].add_case(case, appointments)  # idempotent, from another replica
        assert await store.case("AIMA-2026-000123") == case
        code = appointments[0].appointment_code
        assert await store.appointment(code) == appointments[0]
        assert await store.appointments_of(case.case_reference) == appointments
        window = (start, start + dt.timedelta(hours=1))
        assert await store.appointments_starting("CLAIM-T", *window) == [(case, appointments[0])]
        assert await store.appointments_starting("CLAIM-OTHER", *window) == []
        assert await store.time_zone("CLAIM-T") == "Europe/Lisbon"
        await store.set_time_zone("CLAIM-T", "Atlantic/Azores")
        assert await stores[2].time_zone("CLAIM-T") == "Atlantic/Azores"

        def attendance(minute: int) -> CheckInRecord:
            at = start + dt.timedelta(minutes=minute)
            return CheckInRecord(str(uuid.uuid4()), code, f"dev-{minute}", at, False, at)

        tries = [attendance(minute) for minute in range(12)]
        results = await asyncio.gather(
            *(stores[n % 3].check_in(record) for n, record in enumerate(tries))
        )
        assert len({r.check_in_id for r in results if r is not None}) == 1  # one winner
        [recorded] = await store.check_ins("CLAIM-T", start, start + dt.timedelta(days=1))
        assert recorded == results[0]
        assert recorded.check_in_id in {t.check_in_id for t in tries}
        again = await store.check_in(tries[0])
        assert again == recorded
    finally:
        for each in stores:
            await each.close()
