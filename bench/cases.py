"""Case verification costs: ``python bench/cases.py --json [--appointments 2000] [--lookups 50]``.

Prints one JSON object:

- ``day_list``: for a list of ``--appointments`` synthetic appointments, the
  signed size and the best-of-3 milliseconds to sign it (central), to verify it
  (kiosk: chain, signature, canonical form, every member), to seal it to the
  device key and to read it back (unseal + verify, as after a restart); the
  baseline is ``json.loads`` of the same bytes in the same run, and
  ``verify_ratio`` = verify / json_loads;
- ``lookup``: p50/p95 milliseconds of ``--lookups`` case lookups through the
  kiosk's directory against a loopback central (``online``), then with central
  stopped (``offline``, answered from the day list), and ``online_over_offline``;
- ``check_in``: milliseconds to queue one check-in durably (SQLite, synchronous=FULL)
  and to deliver a queue of ``--lookups`` check-ins once central is back.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.cases.sealed_file import read_sealed, write_sealed
from central.cases.servicer import case_appointment
from central.cases.synthetic import synthetic_day
from packet.daylist import DayList, SignedDayList, sign_day_list, verify_day_list
from packet.trust import TrustStore
from tests.cases_world import SITE, ZONE, close_case_world, make_case_world


def best_ms(runs: int, func: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 3)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 3), "p95_ms": round(p95 * 1000, 3)}


async def run(appointments: int, lookups: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-cases-") as tmp:
        world = await make_case_world(Path(tmp), count=max(lookups, 10))
        try:
            directory = world.directory(lookup_timeout_s=2.0)
            result: dict[str, Any] = {"day_list": await _day_list(world, directory, appointments)}
            references = [c.case_reference for c, _ in world.open_cases()][:lookups]
            assert await directory.refresh_day_list()
            online = await _lookups(directory, references)
            await world.central_down()
            offline = await _lookups(directory, references)
            result["lookup"] = {
                "lookups": len(references),
                "online": online,
                "offline": offline,
                "online_over_offline": round(online["p50_ms"] / max(offline["p50_ms"], 1e-6), 1),
            }
            queued = []
            for reference in references:
                check = await directory.lookup(reference)
                start = time.perf_counter()
                directory.check_in(check)
                queued.append(time.perf_counter() - start)
            await world.central_up()
            start = time.perf_counter()
            for _ in range(600):  # central's port reopens: the channel reconnects
                if await directory.deliver_check_ins():
                    break
                await asyncio.sleep(0.05)
            result["check_in"] = {
                "queue": percentiles(queued),
                "deliver_all_ms": round((time.perf_counter() - start) * 1000, 1),
                "delivered": len(references) - directory.queue.status().pending,
            }
            return result
        finally:
            await close_case_world(world)


async def _day_list(world: Any, directory: Any, appointments: int) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    day = directory.today()
    rows = synthetic_day(SITE, day, min(appointments, 1000), ZONE)
    while len(rows) < appointments:  # beyond one synthetic day: the next days' people
        rows += synthetic_day(SITE, day + dt.timedelta(days=len(rows) // 1000), 1000, ZONE)
    listed = DayList(
        site_id=SITE,
        day=day,
        time_zone=ZONE,
        device_id=world.identity.identity.device_id,
        issued_at=now,
        not_after=directory.day_bounds(day)[1],
        appointments=tuple(
            case_appointment(c, a[0]) for c, a in rows[:appointments] if a[0].site_id == SITE
        ),
    )
    key, chain = world.desk.signer_key, world.desk.signer_chain
    signed = sign_day_list(listed, key, chain)
    trust: TrustStore = directory.day_lists._trust
    device = directory.day_lists._key
    path = Path(world.root) / "bench.sealed"

    def verify(data: SignedDayList = signed) -> object:
        return verify_day_list(
            data, trust, site_id=SITE, day=day, device_id=listed.device_id, now=now
        )

    def reread() -> object:
        return verify(SignedDayList.from_bytes(read_sealed(path, device, b"bench")))

    sign_ms = best_ms(3, lambda: sign_day_list(listed, key, chain))
    seal_ms = best_ms(
        3, lambda: write_sealed(path, device.public_key(), b"bench", signed.to_bytes())
    )
    verify_ms = best_ms(3, verify)
    json_ms = best_ms(3, lambda: json.loads(signed.signed_list))
    return {
        "appointments": len(listed.appointments),
        "signed_bytes": len(signed.signed_list),
        "sign_ms": sign_ms,
        "verify_ms": verify_ms,
        "seal_ms": seal_ms,
        "read_back_ms": best_ms(3, reread),
        "json_loads_ms": json_ms,
        "verify_ratio": round(verify_ms / max(json_ms, 1e-6), 1),
    }


async def _lookups(directory: Any, references: list[str]) -> dict[str, float]:
    samples = []
    for reference in references:
        start = time.perf_counter()
        check = await directory.lookup(reference)
        samples.append(time.perf_counter() - start)
        assert check.outcome.value == "found", check
    return percentiles(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--appointments", type=int, default=2000)
    parser.add_argument("--lookups", type=int, default=50)
    args = parser.parse_args()
    result = asyncio.run(run(args.appointments, args.lookups))
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
