"""The start screen's case panel in Debian's Chromium: a case found and confirmed, a closed
case, and the supervisor's override for a case not found (PIN refused, then accepted).

Screenshots go to ``artifacts/screens/`` (23-27) and every screen is checked with axe-core.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from playwright.sync_api import expect

from central.cases.synthetic import synthetic_case
from tests.e2e.conftest import axe_violations, dump, login, screenshot
from tests.e2e.world import CLOSED_CASE, SITE, TEST_CASES, World

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

FOUND = "AIMA-2026-000002"
UNKNOWN = "AIMA-2026-NOPE-0042"


def _shots(page: Any, name: str, violations: dict[str, Any]) -> None:
    screenshot(page, name)
    found = axe_violations(page)
    if found:
        violations[name] = found


def _workflow(page: Any) -> dict[str, Any]:
    text = page.evaluate("() => fetch('/api/workflow').then(r => r.text())")
    value: dict[str, Any] = json.loads(text)
    return value


def test_case_lookup_shows_what_to_compare(page: Any, kiosk: World) -> None:
    violations: dict[str, Any] = {}
    person = synthetic_case(FOUND, SITE, dt.datetime.now(dt.UTC))[0]
    login(page, "ana", kiosk.password("ana"))
    expect(page.locator("#day-list-chip")).to_have_text(
        f"Lista do dia: {len(TEST_CASES) + 1} marcações"  # the closed case too, not elsewhere
    )
    page.fill("#case-reference", FOUND)
    page.click("#start-enrolment")
    expect(page.locator("#case-outcome")).to_have_text(
        "Processo encontrado. Compare os dados com o documento de identificação apresentado."
    )
    expect(page.locator("#case-source")).to_have_text("Resposta da AIMA (em linha)")
    expect(page.locator("#case-name")).to_have_text(person.full_name)
    expect(page.locator("#case-birth")).to_have_text(person.date_of_birth)
    expect(page.locator("#case-document")).to_contain_text(person.document_number)
    expect(page.locator("#override-case")).to_have_count(0)
    _shots(page, "23-case-found", violations)

    page.fill("#case-reference", CLOSED_CASE)
    expect(page.locator("#case-panel")).to_be_hidden()  # typing forgets the last lookup
    page.click("#start-enrolment")
    expect(page.locator("#case-outcome")).to_contain_text("encerrado ou suspenso")
    expect(page.locator("#case-status")).to_have_text("Encerrado")
    expect(page.locator("#confirm-identity")).to_have_count(0)
    expect(page.locator("#override-case")).to_be_visible()
    _shots(page, "24-case-closed", violations)

    page.fill("#case-reference", FOUND)
    page.click("#start-enrolment")
    page.click("#confirm-identity")
    page.wait_for_selector("#consent-agree")
    view = _workflow(page)
    assert view["case_reference"] == FOUND
    assert view["case"]["outcome"] == "found" and view["case"]["source"] == "online"
    assert view["case"]["case"]["full_name"] == person.full_name
    events = [event for event, _ in kiosk.operations]
    assert events.count("case.lookup") == 3 and "case.check_in" in events
    assert violations == {}, dump(violations)


def test_supervisor_override_for_a_case_not_found(page: Any, kiosk: World) -> None:
    violations: dict[str, Any] = {}
    login(page, "ana", kiosk.password("ana"))
    page.fill("#case-reference", UNKNOWN)
    page.click("#start-enrolment")
    expect(page.locator("#case-outcome")).to_contain_text("não encontrados")
    expect(page.locator("#case-name")).to_have_count(0)  # nothing to show
    _shots(page, "25-case-not-found", violations)

    page.click("#override-case")
    page.click("dialog [data-reason='data_not_yet_synchronised']")
    page.fill("#override-supervisor", "sofia")
    page.fill("#override-pin", "111111")
    page.click("#override-confirm")
    expect(page.locator("dialog .banner.bad")).to_have_text(
        "Utilizador ou PIN do supervisor incorretos."
    )
    _shots(page, "26-case-override-dialog", violations)
    assert _workflow(page)["active"] is False  # refused: nothing started

    page.fill("#override-pin", "246810")
    page.click("#override-confirm")
    page.wait_for_selector("#consent-agree")
    _shots(page, "27-consent-after-override", violations)
    view = _workflow(page)
    assert view["case_reference"] == UNKNOWN
    assert view["case"]["outcome"] == "not_found"
    assert view["case"]["override"] == {
        "supervisor": "sofia",
        "reason": "data_not_yet_synchronised",
    }
    overrides = [fields for event, fields in kiosk.operations if event == "case.override"]
    assert overrides == [
        {
            "operator": "ana",
            "confirmed_by": "sofia",
            "case_reference": UNKNOWN,
            "reason": "data_not_yet_synchronised",
            "outcome": "not_found",
        }
    ]
    assert not any(event == "case.check_in" for event, _ in kiosk.operations)  # no appointment
    assert violations == {}, dump(violations)
