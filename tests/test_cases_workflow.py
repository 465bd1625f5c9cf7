"""The start step on a running kiosk: with central stopped an enrolment starts from the day's
appointment list, and its check-in arrives once central is back; the binding in the record;
refusals and the supervisor's override over HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from central.cases.synthetic import synthetic_case
from tests.e2e.api_driver import ApiDriver, ApiError
from tests.e2e.world import CLOSED_CASE, OTHER_SITE_CASE, SITE, kiosk_world

pytestmark = pytest.mark.timeout(300)

REFERENCE = "AIMA-2026-000003"


async def test_offline_start_from_the_day_list_and_check_in_once_central_is_back(
    tmp_path: Path,
) -> None:
    async with kiosk_world(tmp_path) as world:
        await world.central_down()
        async with httpx.AsyncClient(base_url=world.base_url, timeout=60) as client:
            driver = ApiDriver(client)
            await driver.login("ana", world.password("ana"))
            case = await driver.call("post", "/api/workflow/case", json={"reference": REFERENCE})
            assert (case["outcome"], case["source"]) == ("found", "day_list")
            person = synthetic_case(
                REFERENCE, SITE, world.app.cases.day_bounds(world.app.cases.today())[0]
            )[0]  # type: ignore[union-attr]
            assert case["case"]["full_name"] == person.full_name
            view = await driver.start(REFERENCE, "en")
            assert view["step"] == "consent" and view["case_reference"] == REFERENCE
            assert view["case"]["source"] == "day_list"
        record = json.loads((world.root / "state" / "workflow" / "current.json").read_text())
        binding = record["case_check"]
        assert binding["source"] == "day_list" and binding["outcome"] == "found"
        assert person.full_name not in json.dumps(record)  # the record keeps no applicant data
        cases = world.app.cases
        assert cases is not None and cases.queue.status().pending == 1
        day = cases.day_bounds(cases.today())
        assert await world.cases.store.check_ins(SITE, *day) == []

        await world.central_up()
        assert await _eventually(lambda: cases.deliver_check_ins())
        [attendance] = await world.cases.store.check_ins(SITE, *day)
        assert attendance.check_in_id == binding["check_in_id"]
        assert attendance.verified_offline
        assert cases.queue.status().pending == 0
        events = [e for e, _ in world.operations]
        assert events.count("case.check_in") == 1 and events.count("case.check_in_sent") == 1
        assert (
            "case.check_in",
            {"operator": "ana", "case_reference": REFERENCE, "mode": "queued"},
        ) in world.operations


async def _eventually(attempt, limit_s: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while loop.time() < deadline:
        if await attempt():
            return True
        await asyncio.sleep(0.2)
    return False


async def test_refusals_and_the_override_over_http(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path) as world:
        async with httpx.AsyncClient(base_url=world.base_url, timeout=60) as client:
            driver = ApiDriver(client)
            await driver.login("ana", world.password("ana"))
            start = {"case_reference": REFERENCE, "language": "en"}
            refused = await driver.call("post", "/api/workflow", json=start, expect=409)
            assert refused["error"] == "case.confirm_identity"
            for reference, outcome in [
                (CLOSED_CASE, "closed"),
                (OTHER_SITE_CASE, "other_site"),
                ("AIMA-2026-UNKNOWN-7", "not_found"),
            ]:
                case = await driver.call(
                    "post", "/api/workflow/case", json={"reference": reference}
                )
                assert case["outcome"] == outcome and case["blocking"]
                assert (case["case"] is not None) == (outcome == "closed")
                body = {"case_reference": reference, "language": "en", "identity_confirmed": True}
                answer = await driver.call("post", "/api/workflow", json=body, expect=409)
                assert answer["error"] == f"case.{outcome}" and answer["override"] is True
            override = {"supervisor": "ana", "pin": "0000", "reason": "aima_instruction"}
            body = {
                "case_reference": CLOSED_CASE,
                "language": "en",
                "identity_confirmed": True,
                "override": override,
            }
            answer = await driver.call("post", "/api/workflow", json=body, expect=403)
            assert answer["error"] == "finger.supervisor_refused"  # not a supervisor
            bad_reason = {**body, "override": {**override, "reason": "because"}}
            await driver.call("post", "/api/workflow", json=bad_reason, expect=422)
            body["override"] = {"supervisor": "sofia", "pin": "246810", "reason": "case_reopened"}
            view = await driver.call("post", "/api/workflow", json=body, expect=201)
            assert view["case"]["override"] == {"supervisor": "sofia", "reason": "case_reopened"}
            assert view["case"]["outcome"] == "closed"
            with pytest.raises(ApiError):
                await driver.start(REFERENCE)  # one enrolment at a time
        [override_event] = [f for e, f in world.operations if e == "case.override"]
        assert override_event == {
            "operator": "ana",
            "confirmed_by": "sofia",
            "case_reference": CLOSED_CASE,
            "reason": "case_reopened",
            "outcome": "closed",
        }
        assert [f["mode"] for e, f in world.operations if e == "case.check_in"] == ["online"]
