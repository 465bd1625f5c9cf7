"""The kiosk UI in Debian's Chromium: login, a full enrolment, a missing-finger exception,
language switching (Arabic right to left), the idle lock, the technician pages, portrait.

Each screen is saved as a full-page screenshot under ``artifacts/screens/`` and checked
with axe-core (WCAG 2.1 A/AA; serious and critical findings fail the test).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PORTRAIT, SCREENS, axe_violations, dump, login, screenshot
from tests.e2e.world import CASE_REFERENCE, World

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


class Screens:
    """Screenshot and accessibility check of each screen, asserted at the end."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.violations: dict[str, list[dict[str, Any]]] = {}

    def __call__(self, name: str) -> None:
        screenshot(self.page, name)
        found = axe_violations(self.page)
        if found:
            self.violations[name] = found

    def assert_accessible(self) -> None:
        assert self.violations == {}, dump(self.violations)


def _wait_view(page: Any, predicate: str) -> None:
    """Wait until a selector shows up (CSP forbids eval-based waits, so selectors only)."""
    page.wait_for_selector(predicate, timeout=60_000)


def test_login_and_full_enrolment(page: Any, kiosk: World) -> None:
    shots = Screens(page)
    page.goto("/")
    page.wait_for_selector("#username")
    shots("01-login")
    page.fill("#username", "ana")
    page.fill("#password", "wrong password")
    page.click("#login-submit")
    expect(page.locator("#login-error")).to_be_visible()
    shots("01b-login-error")
    page.fill("#username", "ana")
    page.fill("#password", kiosk.password("ana"))
    page.click("#login-submit")
    page.wait_for_selector("#start-enrolment")
    expect(page.locator("#device-chips .chip.ok")).to_have_count(4)  # 3 devices, day list
    expect(page.locator("#outbox-state")).to_be_visible()
    shots("02-start")

    page.click("#scan-qr")
    expect(page.locator("#case-reference")).to_have_value(CASE_REFERENCE, timeout=20_000)
    page.click("[data-welcome-language='en']")
    expect(page.locator("[data-welcome-language='en']")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#case-reference")).to_have_value(CASE_REFERENCE)
    page.click("#start-enrolment")
    page.click("#confirm-identity")
    page.wait_for_selector("#consent-agree")
    expect(page.locator("#consent-title")).to_have_text("How your personal data is used")
    shots("03-consent")
    page.click("#consent-agree")

    page.wait_for_selector("#face-live")
    expect(page.locator("#face-prompt")).not_to_be_empty(timeout=20_000)
    shots("04-face-live")
    page.wait_for_selector("#face-accept", timeout=60_000)
    expect(page.locator("#face-prompt")).to_have_text("Photo taken. Thank you.")
    # The captured token image is shown (decoded by the browser), not just announced.
    page.wait_for_function(
        "() => { const i = document.querySelector('#face-photo');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=10_000,
    )
    shots("05-face-review")
    page.click("#face-accept")

    page.wait_for_selector("#fingers-next")
    shots("06-fingerprints")
    for kind in ("slap_right_four", "slap_left_four", "slap_thumbs"):
        expect(page.locator(f"#fingers-next[data-next='{kind}']")).to_be_enabled(timeout=30_000)
        page.click("#fingers-next")
        card = page.locator(f"[data-slap='{kind}'] .finger.ok")
        expect(card).to_have_count(2 if kind == "slap_thumbs" else 4, timeout=90_000)
    expect(page.locator("#fingers-continue")).to_be_enabled(timeout=60_000)
    shots("07-fingerprints-done")
    page.click("#fingers-continue")

    page.wait_for_selector("#document-capture")
    page.click("[data-kind='residence_permit']")
    shots("08-documents")
    page.click("#document-capture")
    expect(page.locator("#document-list figure")).to_have_count(1, timeout=120_000)
    expect(page.locator("#document-list figcaption")).to_contain_text("endireitado")
    shots("09-documents-captured")
    page.click("#documents-continue")

    page.wait_for_selector("#submit-enrolment")
    expect(page.locator("#review-case")).to_have_text(CASE_REFERENCE)
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.thumb img')]"
        ".every(i => i.complete && i.naturalWidth > 0)",
        timeout=10_000,
    )
    shots("10-review")
    page.click("#submit-enrolment")
    page.wait_for_selector("#receipt .receipt-block")
    expect(page.locator(".receipt-case").first).to_have_text(CASE_REFERENCE)
    receipt_text = page.locator("#receipt").inner_text()
    assert "Fingerprints: 10" in receipt_text and "no biometric data" in receipt_text
    # no photo, no print on the receipt: its only image is the QR code of the packet id
    assert page.locator("#receipt img").count() == 1
    assert page.locator("#receipt img#receipt-qr").count() == 1
    # central is up: the receipt turns to "received", with central's receipt id
    expect(page.locator("[data-receipt-language='en'] [data-status='received']")).to_contain_text(
        "Received by AIMA", timeout=30_000
    )
    shots("11-receipt")
    outbox = kiosk.app.outbox
    assert outbox is not None and outbox.status().depth + outbox.status().committed_total == 1
    page.click("#next-applicant")
    page.wait_for_selector("#start-enrolment")
    expect(page.locator("#case-reference")).to_have_value("")
    shots.assert_accessible()


def test_missing_finger_needs_a_supervisor(page: Any, kiosk: World) -> None:
    shots = Screens(page)
    login(page, "ana", kiosk.password("ana"))
    page.fill("#case-reference", "AIMA-2026-000777")
    page.click("#start-enrolment")
    page.click("#confirm-identity")
    page.click("#consent-agree")
    page.wait_for_selector("#face-accept", timeout=60_000)
    page.click("#face-accept")
    page.wait_for_selector("#missing-finger")
    page.click("#missing-finger")
    page.click("dialog [data-finger='4']")  # the right ring finger on the hand picture
    page.click("dialog [data-reason='XX']")
    page.fill("#supervisor-name", "sofia")
    page.fill("#supervisor-pin", "111111")
    shots("12-missing-finger-dialog")
    page.click("#missing-confirm")
    expect(page.locator("dialog .banner.bad")).to_have_text(
        "Utilizador ou PIN do supervisor incorretos."
    )
    page.fill("#supervisor-pin", "246810")
    page.click("#missing-confirm")
    expect(page.locator("[data-exception='4']")).to_contain_text("sofia")
    page.click("#fingers-next")
    expect(page.locator("[data-slap='slap_right_four'] .finger.ok")).to_have_count(
        3, timeout=90_000
    )
    expect(page.locator("[data-slap='slap_right_four'] .finger.missing")).to_have_count(1)
    shots("13-fingerprints-exception")
    shots.assert_accessible()


def test_language_switch_and_arabic_right_to_left(page: Any, kiosk: World) -> None:
    shots = Screens(page)
    login(page, "ana", kiosk.password("ana"))
    welcome = page.locator("#welcome-title")
    expected = {
        "pt-PT": "Bem-vindo/a",
        "en": "Welcome",
        "hi": "स्वागत है",
        "ne": "स्वागत छ",
        "bn": "স্বাগতম",
        "uk": "Ласкаво просимо",
        "ur": "خوش آمدید",
        "fr": "Bienvenue",
        "es": "Bienvenido/a",
        "ar": "مرحبًا بكم",
    }
    for code, title in expected.items():
        page.click(f"[data-welcome-language='{code}']")  # one tap
        expect(welcome).to_have_text(title)
        region = welcome
        expect(region).to_have_attribute("lang", code)
        expect(region).to_have_attribute("dir", "rtl" if code in ("ar", "ur") else "ltr")
        if code in ("hi", "bn", "ur"):
            shots(f"14-start-{code}")
    shots("14-start-ar")
    page.fill("#case-reference", "AIMA-2026-000778")
    page.click("#start-enrolment")
    page.click("#confirm-identity")
    page.wait_for_selector("#consent-agree")
    expect(page.locator("#consent-title")).to_have_text("كيف تُستخدم بياناتك الشخصية")
    direction = page.locator("#consent-title").evaluate("e => getComputedStyle(e).direction")
    assert direction == "rtl"
    assert page.locator("html").get_attribute("dir") == "ltr"  # the operator's controls stay
    shots("15-consent-ar")
    page.click("[data-operator-language='en']")
    expect(page.locator("#cancel-enrolment")).to_have_text("Cancel enrolment")
    expect(page.locator("#consent-title")).to_have_text("كيف تُستخدم بياناتك الشخصية")
    shots("16-consent-ar-operator-en")
    page.click("[data-language='uk']")
    expect(page.locator("#consent-title")).to_have_text("Як використовуються ваші персональні дані")
    shots.assert_accessible()


@pytest.mark.kiosk(idle_lock_s=3)
def test_idle_lock(page: Any, kiosk: World) -> None:
    shots = Screens(page)
    login(page, "ana", kiosk.password("ana"))
    page.fill("#case-reference", "AIMA-2026-000779")
    page.click("#start-enrolment")
    page.click("#confirm-identity")
    page.wait_for_selector("#consent-agree")
    page.wait_for_selector("#lock-title", timeout=20_000)  # nobody touches the screen
    shots("17-lock")
    status = page.evaluate("() => fetch('/api/workflow').then(r => r.status)")
    assert status == 401
    page.fill("#unlock-secret", "not it")
    page.click("#unlock-submit")
    expect(page.locator(".banner.bad")).to_be_visible()
    page.fill("#unlock-secret", kiosk.password("ana"))
    page.click("#unlock-submit")
    page.wait_for_selector("#consent-agree")  # back where the operator was
    shots.assert_accessible()


def test_technician_status_pages(page: Any, kiosk: World) -> None:
    shots = Screens(page)
    login(page, "tiago", kiosk.password("tiago"))
    expect(page.locator("#outbox-depth")).to_have_text("0")
    expect(page.locator("#certificate")).to_contain_text("válido até")
    expect(page.locator("tr[data-role]")).to_have_count(3)
    expect(page.locator("#log-view")).not_to_be_empty()
    shots("18-tech-status")
    page.click("#test-devices")
    expect(page.locator("[data-selftest]")).to_have_count(3, timeout=60_000)
    expect(page.locator("[data-selftest].good")).to_have_count(3)
    page.click("text=Atualizar")
    expect(page.locator("#log-view")).to_contain_text("device self-test: 3 of 3 passed")
    log = page.locator("#log-view").inner_text()
    assert CASE_REFERENCE not in log
    shots("19-tech-selftest")
    shots.assert_accessible()


def test_portrait_layout(browser: Any, kiosk: World) -> None:
    context = browser.new_context(viewport=PORTRAIT, base_url=kiosk.base_url)
    page = context.new_page()
    try:
        shots = Screens(page)
        login(page, "ana", kiosk.password("ana"))
        shots("20-start-portrait")
        page.fill("#case-reference", "AIMA-2026-000780")
        page.click("#start-enrolment")
        page.click("#confirm-identity")
        page.click("#consent-agree")
        page.wait_for_selector("#face-accept", timeout=60_000)
        shots("21-face-portrait")
        box = page.locator("#face-preview").bounding_box()
        controls = page.locator("#face-accept").bounding_box()
        assert box is not None and controls is not None
        assert controls["y"] > box["y"] + box["height"] - 1  # controls under the preview
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PORTRAIT["width"]
        page.click("#face-accept")
        page.wait_for_selector("#fingers-next")
        shots("22-fingerprints-portrait")
        shots.assert_accessible()
    finally:
        context.close()


def test_live_preview_rate_in_the_browser(page: Any, kiosk: World) -> None:
    """Frames per second and capture-to-browser latency of the MJPEG preview, measured in
    Chromium; the figures go to artifacts/screens/preview.json (asserted only loosely:
    timing depends on the machine)."""
    login(page, "ana", kiosk.password("ana"))
    page.fill("#case-reference", "AIMA-2026-000781")
    page.click("#start-enrolment")
    page.click("#confirm-identity")
    page.click("#consent-agree")
    page.wait_for_selector("#face-live")
    figures = page.evaluate(
        """async () => {
            const response = await fetch('/api/workflow/preview/face.mjpg');
            const reader = response.body.getReader();
            const decoder = new TextDecoder('latin1');
            let text = '', frames = 0, latencies = [], first = null, last = null;
            const started = performance.now();
            while (performance.now() - started < 3000) {
                const {value, done} = await reader.read();
                if (done) break;
                text += decoder.decode(value);
                let match;
                const re = /X-Capture-Time: ([0-9.]+)/g;
                while ((match = re.exec(text)) !== null) {
                    const now = Date.now() / 1000;
                    frames += 1;
                    latencies.push((now - parseFloat(match[1])) * 1000);
                    first = first ?? performance.now();
                    last = performance.now();
                }
                const cut = text.lastIndexOf('--frame');
                text = text.slice(cut >= 0 ? cut : 0);
                if (text.includes('X-Capture-Time')) text = '';
            }
            reader.cancel();
            latencies.sort((a, b) => a - b);
            return {
                frames,
                fps: frames > 1 ? (frames - 1) / ((last - first) / 1000) : 0,
                latency_ms_p50: latencies[Math.floor(latencies.length / 2)],
                latency_ms_p95: latencies[Math.floor(latencies.length * 0.95)],
            };
        }"""
    )
    SCREENS.mkdir(parents=True, exist_ok=True)
    (SCREENS / "preview.json").write_text(json.dumps(figures, indent=1))
    assert figures["frames"] >= 5, figures
