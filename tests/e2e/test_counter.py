"""Issue 14 in Chromium: the ten problems an operator hit at a busy counter, one test each.

Each test fails on the UI before issue 14 and passes after it:

1. the receipt tells the truth (stored on the kiosk until central's receipt is in);
2. an enrolment does not start with a broken device, and a fault during a step shows in
   the operator's banner with what to do;
3. the applicant's language does not carry over to the next applicant;
4. a chosen option looks chosen, and is what is saved;
5. every action button is inside the viewport at 1280x800 and 800x1280;
6. fingerprints are pictures: live image, segmented boxes, quality bars with the
   threshold, missing fingers picked on a hand picture in slap order;
7. the applicant is spoken to in their language: multilingual welcome, a bilingual
   receipt, and their own screen (/applicant) that shows no personal data;
8. a case already enrolled on this kiosk warns before capture;
9. declining consent is confirmed, recorded and acknowledged;
10. logging out mid-enrolment warns, and the next user resumes (same role) or discards.

Screenshots go to artifacts/screens/ (issue14-*.png); axe-core checks every new screen.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from appliance.demo import capture_all, submit
from tests.e2e.conftest import LANDSCAPE, PORTRAIT, axe_violations, dump, login, screenshot
from tests.e2e.world import World, unplug_reader

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

OPERATIONS: list[tuple[str, dict[str, Any]]] = []


def _record(event: str, details: dict[str, Any]) -> None:
    OPERATIONS.append((event, details))


class Screens:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.violations: dict[str, Any] = {}

    def __call__(self, name: str) -> None:
        screenshot(self.page, f"issue14-{name}")
        found = axe_violations(self.page)
        if found:
            self.violations[name] = found

    def assert_accessible(self) -> None:
        assert self.violations == {}, dump(self.violations)


def _start(page: Any, case: str, language: str | None = None) -> None:
    page.wait_for_selector("#start-enrolment")
    if language:
        page.click(f"[data-welcome-language='{language}']")
        expect(page.locator(f"[data-welcome-language='{language}']")).to_have_attribute(
            "aria-pressed", "true"
        )
    page.fill("#case-reference", case)
    page.click("#start-enrolment")  # looks the case up
    page.click("#confirm-identity")  # the case panel: the operator compared the document


def _to_fingerprints(page: Any, case: str) -> None:
    _start(page, case)
    page.click("#consent-agree")
    page.wait_for_selector("#face-accept", timeout=60_000)
    page.click("#face-accept")
    page.wait_for_selector("#fingers-next")


def _slaps(
    page: Any, kinds: tuple[str, ...] = ("slap_right_four", "slap_left_four", "slap_thumbs")
) -> None:
    for kind in kinds:
        expect(page.locator(f"#fingers-next[data-next='{kind}']")).to_be_enabled(timeout=60_000)
        page.click("#fingers-next")
        expect(page.locator(f"[data-slap='{kind}'].done")).to_have_count(1, timeout=90_000)
    expect(page.locator("#fingers-continue")).to_be_enabled(timeout=60_000)


def _actions_in_view(page: Any, size: dict[str, int], where: str) -> None:
    """Every action button lies wholly inside the viewport, without scrolling."""
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('#actionbar button')].map(b => {
            const r = b.getBoundingClientRect();
            return {text: b.innerText, top: r.top, bottom: r.bottom, left: r.left, right: r.right};
        })"""
    )
    assert boxes, f"{where}: no action"
    for box in boxes:
        inside = box["top"] >= 0 and box["bottom"] <= size["height"]
        inside = inside and box["left"] >= 0 and box["right"] <= size["width"]
        assert inside, f"{where}: {box} outside {size}"


# 1 -------------------------------------------------------------------------------------


@pytest.mark.kiosk(central_up=False)
def test_01_receipt_says_stored_until_central_answers(page: Any, kiosk: World) -> None:
    shots = Screens(page)
    login(page, "ana", kiosk.password("ana"))
    kiosk_app = kiosk.app
    page.wait_for_selector("#start-enrolment")
    _to_fingerprints(page, "AIMA-2026-140001")
    _slaps(page)
    page.click("#fingers-continue")
    page.click("#document-capture")
    expect(page.locator("#document-list figure")).to_have_count(1, timeout=120_000)
    page.click("#documents-continue")
    page.click("#submit-enrolment")
    status = page.locator("[data-receipt-language='pt-PT'] .receipt-status")
    expect(status).to_have_attribute("data-status", "stored", timeout=30_000)
    expect(status).to_contain_text("Guardado no quiosque, a enviar para a AIMA")
    text = page.locator("#receipt").inner_text()
    assert "foram enviados em segurança" not in text  # the old claim, false here
    expect(page.locator("#outbox-state")).to_contain_text("Por enviar: 1", timeout=10_000)
    assert kiosk_app.outbox is not None and kiosk_app.outbox.status().depth == 1
    shots("honest-receipt")
    shots.assert_accessible()


# 2 -------------------------------------------------------------------------------------


def test_02_broken_device_refuses_the_start_and_shows_what_to_do(page: Any, kiosk: World) -> None:
    shots = Screens(page)
    login(page, "ana", kiosk.password("ana"))
    page.wait_for_selector("#start-enrolment")
    assert kiosk.call is not None
    kiosk.call(unplug_reader(kiosk.app))
    page.reload()
    banner = page.locator("#device-banner")
    expect(banner).to_be_visible(timeout=15_000)
    expect(banner.locator("[data-device='fingerprint_reader']")).to_contain_text("O que fazer")
    page.fill("#case-reference", "AIMA-2026-140002")
    page.click("#start-enrolment")
    page.click("#confirm-identity")
    expect(page.locator("#start-refused .banner.bad")).to_be_visible()
    assert page.locator("#consent-agree").count() == 0  # still on the start screen
    shots("device-error-banner")
    shots.assert_accessible()


# 3 and 9 -----------------------------------------------------------------------------


@pytest.mark.kiosk(on_operation=_record)
def test_03_09_refusal_is_confirmed_recorded_and_the_language_resets(
    page: Any, kiosk: World
) -> None:
    shots = Screens(page)
    OPERATIONS.clear()
    login(page, "ana", kiosk.password("ana"))
    _start(page, "AIMA-2026-140003", "ar")
    page.wait_for_selector("#consent-decline")
    page.click("#consent-decline")
    expect(page.locator("#refuse-title")).to_be_visible()  # confirmed first
    shots("consent-refuse-confirm")
    page.click("#refuse-yes")
    expect(page.locator("#declined-operator")).to_contain_text("AIMA-2026-140003")
    expect(page.locator("#declined-applicant")).to_have_attribute("lang", "ar")
    shots("consent-declined")
    assert [e for e, _ in OPERATIONS].count("consent.refused") == 1
    page.click("#next-applicant")
    page.wait_for_selector("#start-enrolment")
    expect(page.locator("#welcome-title")).to_have_text("Bem-vindo/a")
    expect(page.locator("[data-welcome-language='pt-PT']")).to_have_attribute(
        "aria-pressed", "true"
    )
    _start(page, "AIMA-2026-140004")
    expect(page.locator("#consent-title")).to_have_text("Como são usados os seus dados pessoais")
    shots.assert_accessible()


# 4 -------------------------------------------------------------------------------------


def test_04_chosen_options_look_chosen_and_are_saved(page: Any, kiosk: World) -> None:
    login(page, "ana", kiosk.password("ana"))
    _to_fingerprints(page, "AIMA-2026-140005")
    _slaps(page)
    page.click("#fingers-continue")
    page.wait_for_selector("#document-capture")
    chosen = page.locator("[data-kind='residence_permit']")
    other = page.locator("[data-kind='passport']")
    chosen.click()
    background = "e => getComputedStyle(e).backgroundColor"
    assert chosen.evaluate(background) != other.evaluate(background)
    expect(page.locator("#document-chosen")).to_contain_text("Autorização de residência")
    page.click("#document-capture")
    caption = page.locator("#document-list figcaption")
    expect(caption).to_contain_text("Autorização de residência", timeout=120_000)


# 5 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [LANDSCAPE, PORTRAIT], ids=["landscape", "portrait"])
def test_05_every_action_is_on_screen(browser: Any, kiosk: World, size: dict[str, int]) -> None:
    context = browser.new_context(viewport=size, locale="pt-PT", base_url=kiosk.base_url)
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        login(page, "ana", kiosk.password("ana"))
        page.wait_for_selector("#start-enrolment")
        _actions_in_view(page, size, "start")
        page.fill("#case-reference", "x")
        page.click("#start-enrolment")
        expect(page.locator("#case-error")).to_be_visible()  # our message, no browser bubble
        page.fill("#case-reference", f"AIMA-2026-14{size['width']}")
        page.click("#start-enrolment")
        page.click("#confirm-identity")
        page.wait_for_selector("#consent-agree")
        _actions_in_view(page, size, "consent")
        if size is LANDSCAPE:
            expect(page.locator(".scroll-cue")).to_be_visible()  # more text follows
        page.click("#consent-agree")
        page.wait_for_selector("#face-capture")
        _actions_in_view(page, size, "face live")
        page.wait_for_selector("#face-accept", timeout=60_000)
        _actions_in_view(page, size, "face captured")
        page.click("#face-accept")
        page.wait_for_selector("#fingers-next")
        _actions_in_view(page, size, "fingerprints")
        _slaps(page)
        _actions_in_view(page, size, "fingerprints done")
        page.click("#fingers-continue")
        page.wait_for_selector("#document-capture")
        page.click("#document-capture")
        expect(page.locator("#document-list figure")).to_have_count(1, timeout=120_000)
        _actions_in_view(page, size, "documents")
        page.click("#documents-continue")
        page.wait_for_selector("#submit-enrolment")
        _actions_in_view(page, size, "review")
        page.click("#submit-enrolment")
        page.wait_for_selector("#next-applicant")
        _actions_in_view(page, size, "receipt")
    finally:
        context.close()


# 6 -------------------------------------------------------------------------------------


@pytest.mark.kiosk(preview_interval_s=0.25)
def test_06_fingerprints_are_pictures(page: Any, kiosk: World) -> None:
    shots = Screens(page)
    login(page, "ana", kiosk.password("ana"))
    _to_fingerprints(page, "AIMA-2026-140006")
    expect(page.locator("[data-slap='slap_right_four'] .slap-diagram")).to_be_visible()
    page.click("#fingers-next")
    page.wait_for_function(
        "() => { const i = document.querySelector('#slap-live');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=30_000,
    )
    shots("fingerprint-live")
    expect(page.locator("[data-slap='slap_right_four'].done")).to_have_count(1, timeout=90_000)
    card = page.locator("[data-slap='slap_right_four']")
    expect(card.locator("svg.boxes rect")).to_have_count(4)
    expect(card.locator(".bar .threshold")).to_have_count(4)
    expect(card.locator(".finger-name").first).to_contain_text("Indicador direito")
    page.click("#missing-finger")
    expect(page.locator("dialog [data-finger]")).to_have_count(10)
    order = page.locator("dialog [data-position]").evaluate_all(
        "bs => bs.map(b => Number(b.dataset.position))"
    )
    assert order == [2, 3, 4, 5, 10, 9, 8, 7, 6, 1]  # the slaps' order
    page.click("dialog [data-finger='7']")
    expect(page.locator("#missing-chosen")).to_contain_text("Indicador esquerdo")
    shots("missing-finger-hands")
    page.keyboard.press("Escape")
    _slaps(page, ("slap_left_four", "slap_thumbs"))
    shots("fingerprint-review-quality")
    shots.assert_accessible()


# 7 -------------------------------------------------------------------------------------


def test_07_the_applicant_reads_their_language_on_their_own_screen(page: Any, kiosk: World) -> None:
    shots = Screens(page)
    login(page, "ana", kiosk.password("ana"))
    page.wait_for_selector("[data-welcome-language='ne']")
    expect(page.locator("[data-welcome-language='ne']")).to_contain_text("आफ्नो भाषा छान्नुहोस्")
    expect(page.locator("[data-welcome-language='ar']")).to_have_attribute("dir", "rtl")
    applicant = page.context.new_page()
    applicant.goto("/applicant")
    expect(applicant.locator("#applicant-welcome")).to_contain_text("Welcome")
    _start(page, "AIMA-2026-140007", "ne")
    page.click("#consent-agree")
    expect(applicant.locator("[data-step='face']")).to_have_attribute("lang", "ne", timeout=10_000)
    page.wait_for_selector("#face-accept", timeout=60_000)
    page.click("#face-accept")
    page.wait_for_selector("#fingers-next")
    expect(applicant.locator("[data-applicant-slap='slap_right_four']")).to_be_visible(
        timeout=10_000
    )
    text = applicant.locator("body").inner_text()
    assert "AIMA-2026-140007" not in text and "Ana" not in text
    assert applicant.locator("img").count() == 0  # no biometric image on a public screen
    screenshot(applicant, "issue14-applicant-mode")
    found = axe_violations(applicant)
    assert found == [], dump(found)
    # The public feed carries no case reference either.
    feed = applicant.evaluate("() => fetch('/api/applicant').then(r => r.text())")
    assert "AIMA-2026-140007" not in feed
    # The bilingual receipt: Portuguese and the applicant's language.
    _slaps(page)
    page.click("#fingers-continue")
    page.click("#document-capture")
    expect(page.locator("#document-list figure")).to_have_count(1, timeout=120_000)
    page.click("#documents-continue")
    page.click("#submit-enrolment")
    expect(page.locator("[data-receipt-language='pt-PT']")).to_be_visible(timeout=30_000)
    expect(page.locator("[data-receipt-language='ne']")).to_contain_text("मुद्दा सन्दर्भ")
    shots("bilingual-receipt")
    shots.assert_accessible()


# 8 -------------------------------------------------------------------------------------


@pytest.mark.kiosk(central_up=False)
def test_08_a_case_enrolled_here_warns_before_capture(page: Any, kiosk: World) -> None:
    shots = Screens(page)

    async def enrol() -> None:
        await capture_all(kiosk.app.workflow, "AIMA-2026-140008")
        await submit(kiosk.app.workflow)

    assert kiosk.call is not None
    kiosk.call(enrol(), timeout=120)
    login(page, "ana", kiosk.password("ana"))
    _start(page, "AIMA-2026-140008")
    expect(page.locator("#duplicate-title")).to_be_visible()
    expect(page.locator("dialog")).to_contain_text("já foi inscrito neste quiosque")
    shots("duplicate-case")
    page.click("#duplicate-no")
    assert page.locator("#consent-agree").count() == 0
    page.click("#start-enrolment")
    page.click("#confirm-identity")
    page.click("#duplicate-yes")
    page.wait_for_selector("#consent-agree")
    shots.assert_accessible()


# 10 ------------------------------------------------------------------------------------


def test_10_logout_mid_enrolment_warns_and_the_next_user_decides(page: Any, kiosk: World) -> None:
    shots = Screens(page)
    login(page, "ana", kiosk.password("ana"))
    _start(page, "AIMA-2026-140010")
    page.click("#consent-agree")
    page.wait_for_selector("#face-accept", timeout=60_000)  # a photo is held
    page.click("#logout-button")
    expect(page.locator("#logout-title")).to_be_visible()
    page.click("#logout-yes")
    page.wait_for_selector("#username")
    login(page, "sofia", kiosk.password("sofia"))
    expect(page.locator("#handover-text")).to_contain_text("ana")
    expect(page.locator("#handover-other-role")).to_be_visible()  # a supervisor, not an operator
    assert page.locator("#handover-resume").count() == 0
    shots("handover")
    page.click("#handover-discard")
    page.fill("#discard-supervisor", "sofia")
    page.fill("#discard-pin", "246810")
    page.click("#discard-confirm")
    page.wait_for_selector("#start-enrolment")
    assert not kiosk.app.workflow.view().active
    shots.assert_accessible()
