"""The supervisor's Statistics page in Debian's Chromium, after a real enrolment.

One applicant goes through the workflow's HTTP API (the same path the screens
use), central issues its receipt, then the supervisor opens Statistics: the
day's counts, the average times, the reject rates by check and the CSV export,
in pt-PT and in English. Screenshots: ``20-statistics``, ``21-statistics-en``.
"""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.api_driver import ApiDriver
from tests.e2e.conftest import login
from tests.e2e.test_ui import Screens
from tests.e2e.world import CASE_REFERENCE, World

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def _enrol(kiosk: World) -> None:
    async def run() -> None:
        headers = {"Origin": kiosk.base_url}
        async with httpx.AsyncClient(base_url=kiosk.base_url, headers=headers, timeout=60) as http:
            driver = ApiDriver(http)
            await driver.login("ana", kiosk.password("ana"))
            await driver.enrol(CASE_REFERENCE)

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's loop
        pool.submit(asyncio.run, run()).result(240)
    outbox = kiosk.app.outbox
    assert outbox is not None
    deadline = time.monotonic() + 60
    while outbox.status().depth and time.monotonic() < deadline:
        time.sleep(0.2)
    assert outbox.status().depth == 0, "the packet did not reach central"


def test_statistics_page_for_supervisors(page: Any, kiosk: World) -> None:
    _enrol(kiosk)
    shots = Screens(page)
    login(page, "ana", kiosk.password("ana"))
    expect(page.locator("#stats-button")).to_have_count(0)  # operators do not see it
    page.click("#logout-button")
    login(page, "sofia", kiosk.password("sofia"))
    page.click("#stats-button")
    page.wait_for_selector("#stats-started")
    expect(page.locator("#stats-started")).to_have_text("1")
    expect(page.locator("#stats-completed")).to_have_text("1")
    page.click("[data-period='week']")  # refreshes: the receipt is counted by now
    expect(page.locator("#stats-delivered")).to_have_text("1")
    expect(page.locator("#stats-avg-wall")).to_contain_text("s")
    # The day's list is in (the world pulls it at start): the rest of today's cases are no-shows.
    expect(page.locator("#stats-no-show")).to_have_text(re.compile(r"^\d+,\d %\s*\(\d+ / \d+\)"))
    expect(page.locator("[data-check='face']")).to_have_count(1)
    expect(page.locator("[data-period='week']")).to_have_attribute("aria-pressed", "true")
    shots("20-statistics")
    csv = page.request.get("/api/stats.csv?period=week")
    assert csv.status == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text().splitlines()
    assert lines[0].startswith("day,site_id,device_id,started,completed,delivered")
    assert len(lines) == 2 and ",CLAIM-E2E-001," in lines[1]
    page.click("[data-operator-language='en']")
    page.wait_for_selector("#stats-started")
    expect(page.locator("#screen-title")).to_have_text("Statistics of this kiosk")
    shots("21-statistics-en")
    page.click("#stats-back")
    # Back to the enrolment screens: ana's finished enrolment is hers, so sofia is asked
    # to resume or discard it (issue 14's handover), not shown ana's receipt.
    page.wait_for_selector("body[data-screen^='handover']")
    shots.assert_accessible()
