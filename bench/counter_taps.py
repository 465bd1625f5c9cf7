"""Taps per enrolment and the time outside capture, driven in Chromium like an operator.

One enrolment on a provisioned kiosk with simulated devices (tests/e2e/world.py):
applicant language English, a case reference typed, consent, the face (auto-capture),
the three slaps, a residence permit, submit, next applicant. Every click is a tap;
typing a field is counted apart. The time outside capture is the whole enrolment (first
tap to the start screen of the next applicant) minus the waits for the devices and the
engines (face auto-capture, each slap, the document, sealing): what the screens and
their round trips cost the counter.

It drives both the UI before issue 14 (selectors of main at 59f152b) and after it
(detected by the fixed action bar), so the same script measures both:

    python bench/counter_taps.py --json > after.json
    # in an export of the old tree, with this venv:
    PYTHONPATH=/tmp/before python /tmp/before/bench/counter_taps.py --json > before.json
    python bench/counter_taps.py --json --baseline before.json   # adds ratios

Figures depend on the machine; ``--runs`` repeats the enrolment and reports medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.e2e.world import WorldThread  # noqa: E402

SLAPS = ("slap_right_four", "slap_left_four", "slap_thumbs")


class Operator:
    def __init__(self, page: Any) -> None:
        self.page = page
        self.taps = 0
        self.fields = 0
        self.waits: dict[str, float] = {}
        self.last = time.perf_counter()
        self.waited = 0.0
        self.gaps: list[tuple[str, float]] = []  # time outside capture before each tap

    def tap(self, selector: str) -> None:
        now = time.perf_counter()
        self.gaps.append((selector, now - self.last - self.waited))
        self.last, self.waited = now, 0.0
        self.page.click(selector)
        self.taps += 1

    def type(self, selector: str, text: str) -> None:
        self.page.fill(selector, text)
        self.fields += 1

    def wait(self, label: str, selector: str, timeout: float = 120_000, **state: Any) -> None:
        started = time.perf_counter()
        locator = self.page.locator(selector)
        if "count" in state:
            expect(locator).to_have_count(state["count"], timeout=timeout)
        else:
            locator.first.wait_for(timeout=timeout)
        spent = time.perf_counter() - started
        self.waits[label] = self.waits.get(label, 0.0) + spent
        self.waited += spent


def enrol(page: Any, case: str) -> dict[str, Any]:
    op = Operator(page)
    page.wait_for_selector("#start-enrolment")
    new_ui = page.locator("#actionbar").count() == 1
    started = time.perf_counter()
    language = "[data-welcome-language='en']" if new_ui else "[data-language='en']"
    op.tap(language)
    expect(page.locator(language)).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(300)  # the screen is redrawn in the new language
    op.type("#case-reference", case)
    op.tap("#start-enrolment")
    if new_ui:  # the case is looked up first; the operator confirms the identity on its panel
        op.tap("#confirm-identity")
    page.wait_for_selector("#consent-agree")
    op.tap("#consent-agree")
    op.wait("face", "#face-accept")
    op.tap("#face-accept")
    for kind in SLAPS:
        if new_ui:
            expect(page.locator(f"#fingers-next[data-next='{kind}']")).to_be_enabled()
            op.tap("#fingers-next")
        else:
            op.tap(f"[data-capture='{kind}']")
        count = 2 if kind == "slap_thumbs" else 4
        op.wait("fingers", f"[data-slap='{kind}'] .finger.ok", count=count)
    expect(page.locator("#fingers-continue")).to_be_enabled(timeout=60_000)
    op.tap("#fingers-continue")
    page.wait_for_selector("#document-capture")
    op.tap("[data-kind='residence_permit']")
    op.tap("#document-capture")
    op.wait("document", "#document-list figure", count=1)
    op.tap("#documents-continue")
    page.wait_for_selector("#submit-enrolment")
    op.tap("#submit-enrolment")
    op.wait("sealing", "#next-applicant")
    op.tap("#next-applicant")
    page.wait_for_selector("#start-enrolment")
    total = time.perf_counter() - started
    capture = sum(op.waits.values())
    return {
        "ui": "issue14" if new_ui else "before",
        "taps": op.taps,
        "fields_typed": op.fields,
        "total_s": round(total, 2),
        "capture_s": round(capture, 2),
        "outside_capture_s": round(total - capture, 2),
        "waits_s": {k: round(v, 2) for k, v in op.waits.items()},
        "before_tap_s": [[selector, round(gap, 2)] for selector, gap in op.gaps],
    }


def run(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="counter-taps-") as tmp:
        with WorldThread(Path(tmp)) as world, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(
                viewport={"width": 1280, "height": 800}, locale="pt-PT", base_url=world.base_url
            )
            page.set_default_timeout(60_000)
            page.goto("/")
            page.fill("#username", "ana")
            page.fill("#password", world.password("ana"))
            page.click("#login-submit")
            results = [enrol(page, f"AIMA-2026-77{n:04d}") for n in range(runs)]
            browser.close()
    summary: dict[str, Any] = {"runs": runs, "ui": results[0]["ui"], "taps": results[0]["taps"]}
    for key in ("fields_typed",):
        summary[key] = results[0][key]
    for key in ("total_s", "capture_s", "outside_capture_s"):
        summary[key] = round(statistics.median(r[key] for r in results), 2)
    summary["each"] = results
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--baseline", type=Path, help="JSON of a run on the old UI")
    args = parser.parse_args()
    figures = run(args.runs)
    if args.baseline is not None:
        base = json.loads(args.baseline.read_text())
        figures["baseline"] = {k: base[k] for k in ("ui", "taps", "total_s", "outside_capture_s")}
        figures["ratio"] = {
            k: round(figures[k] / base[k], 3) if base[k] else None
            for k in ("taps", "total_s", "outside_capture_s")
        }
    print(json.dumps(figures, indent=None if args.json else 1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
