"""Issues 18 and 19 in Chromium: the documents step as the operator sees it.

- another person's document on the counter: the MRZ is read and valid, its
  differences from the case are listed field by field, "continue" waits for a
  supervisor, whose confirmation (PIN and reason) shows on the card;
- the applicant's own passport with a chip on the real pcscd + vpcd stack: the MRZ
  opens the chip, its verdicts show, the chip's portrait sits beside the photo taken
  at the kiosk with the face-match decision, and a failed check waits for a
  supervisor's decision.

Screenshots go to artifacts/screens/ (issue18-*.png, issue19-*.png); axe-core checks
each screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from playwright.sync_api import expect

from appliance.demo import to_documents
from drivers.sim.emrtd.card import ATR, CardGone
from drivers.sim.emrtd.vpcd import VirtualCardLink
from tests.chip_world import make_pki, pcsc_stack_unavailable, pcscd, wait_reader_empty
from tests.e2e.conftest import LANDSCAPE, axe_violations, dump, login, screenshot
from tests.e2e.world import TEST_CASES, World, WorldThread, show_document
from tests.test_documents_step import _chip

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

SUPERVISOR = ("sofia", "246810")


def _supervisor_confirms(page: Any, reason: str) -> None:
    page.fill("#decision-reason", reason)
    page.fill("#decision-supervisor", SUPERVISOR[0])
    page.fill("#decision-pin", SUPERVISOR[1])
    page.click("#decision-confirm")


@pytest.mark.kiosk(central_up=False)
def test_another_persons_document_waits_for_the_supervisor(page: Any, kiosk: World) -> None:
    violations: dict[str, Any] = {}
    assert kiosk.call is not None
    kiosk.call(to_documents(kiosk.app.workflow, TEST_CASES[6], "ana"), timeout=240)
    show_document(kiosk, TEST_CASES[7])  # the applicant hands over someone else's permit
    login(page, "ana", kiosk.password("ana"))
    page.click("[data-kind='residence_permit']")
    page.click("#document-capture")
    verdict = page.locator("[data-mrz-verdict]")
    expect(verdict).to_have_attribute("data-verdict", "valid", timeout=120_000)
    table = page.locator("[data-mismatches]")
    expect(table).to_be_visible()
    expect(table.locator("[data-mismatch='document_number']")).to_have_count(1)
    expect(page.locator("[data-mrz-field='document_number']")).to_be_visible()
    screenshot(page, "issue18-document-differs-from-case")
    violations["differs"] = axe_violations(page)
    page.click("#documents-continue")
    expect(page.locator("#toast")).to_be_visible()  # the supervisor must confirm first
    assert page.locator("#submit-enrolment").count() == 0  # still on the documents step

    page.click("[data-override-document]")
    _supervisor_confirms(page, "documento verificado presencialmente")
    expect(page.locator("[data-override]")).to_contain_text("sofia", timeout=15_000)
    screenshot(page, "issue18-document-supervisor-confirmed")
    violations["confirmed"] = axe_violations(page)
    page.click("#documents-continue")
    page.wait_for_selector("#submit-enrolment")
    events = [event for event, _ in kiosk.operations]
    assert "document.checked" in events and "document.override" in events
    assert {k: v for k, v in violations.items() if v} == {}, dump(violations)


_missing = pcsc_stack_unavailable()


@pytest.fixture(scope="module")
def vpcd_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if _missing is not None:
        pytest.skip(_missing)
    with pcscd(tmp_path_factory.mktemp("pcscd")) as port:
        yield port


@pytest.mark.skipif(_missing is not None, reason=_missing or "")
def test_the_chip_and_the_face_match_side_by_side(
    browser: Any, tmp_path: Path, vpcd_port: int
) -> None:
    pki = make_pki()
    csca_dir = tmp_path / "csca"
    csca_dir.mkdir()
    (csca_dir / "csca.pem").write_bytes(pki.csca.certificate.public_bytes(Encoding.PEM))
    config = {
        "devices": {"document_reader": {"type": "pcsc", "allow_virtual": True}},
        "documents": {"chip": {"csca_dir": str(csca_dir), "read_timeout_s": 30}},
    }
    violations: dict[str, Any] = {}
    with WorldThread(tmp_path / "kiosk", central_up=False, config=config) as kiosk:
        assert kiosk.call is not None
        kiosk.call(to_documents(kiosk.app.workflow, TEST_CASES[8], "ana"), timeout=240)
        lines = show_document(kiosk, TEST_CASES[8], kind="passport")
        context = browser.new_context(viewport=LANDSCAPE, locale="pt-PT", base_url=kiosk.base_url)
        context.set_default_timeout(30_000)
        page = context.new_page()
        link = None
        try:
            login(page, "ana", kiosk.password("ana"))
            page.click("[data-kind='passport']")
            page.click("#document-capture")
            verdict = page.locator("[data-mrz-verdict]")
            expect(verdict).to_have_attribute("data-verdict", "valid", timeout=120_000)
            expect(page.locator("#chip-read")).to_be_enabled()
            wait_reader_empty()
            link = VirtualCardLink(_chip(lines, pki.ds), ATR, port=vpcd_port, gone=CardGone)
            link.insert()
            page.click("#chip-read")
            expect(page.locator("#chip-verdicts")).to_be_visible(timeout=120_000)
            expect(page.locator("[data-chip='pa']")).to_have_class("ok")
            expect(page.locator("[data-chip='dg1']")).to_have_class("ok")
            expect(page.locator("#chip-faces img")).to_have_count(2)
            expect(page.locator("#chip-match")).to_be_visible()
            screenshot(page, "issue19-chip-verdicts-and-face-match")
            violations["chip"] = axe_violations(page)
            if page.locator("#chip-decide").count():  # faces differ: a supervisor decides
                page.click("#chip-decide")
                _supervisor_confirms(page, "mesma pessoa, verificado ao balcão")
                expect(page.locator("#chip-decision")).to_contain_text("sofia", timeout=15_000)
                screenshot(page, "issue19-chip-supervisor-decision")
            page.click("#documents-continue")
            page.wait_for_selector("#submit-enrolment")
        finally:
            if link is not None:
                link.remove()
            context.close()
        events = [event for event, _ in kiosk.operations]
        assert "chip.read" in events
    assert {k: v for k, v in violations.items() if v} == {}, dump(violations)
