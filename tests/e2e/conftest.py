"""Playwright fixtures: Debian's Chromium, a running kiosk, screenshots, axe-core.

Chromium is Debian's ``/usr/bin/chromium`` (``.ci/system-deps.sh`` installs
it); Playwright never downloads a browser here. axe-core comes from npm at
build time (``make e2e`` installs it under ``build/e2e``). Every test is
marked ``e2e``; without Chromium they are skipped, with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.world import World, WorldThread

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "artifacts" / "screens"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
AXE_JS = Path(os.environ.get("AXE_CORE_JS", ROOT / "build/e2e/node_modules/axe-core/axe.min.js"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LANDSCAPE = {"width": 1280, "height": 800}
PORTRAIT = {"width": 800, "height": 1280}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return
    skip = pytest.mark.skip(
        reason=f"Chromium not found at {CHROMIUM}: install Debian's chromium (make system-deps)"
    )
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def kiosk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    marker = request.node.get_closest_marker("kiosk")
    options = dict(marker.kwargs) if marker else {}
    with WorldThread(tmp_path, **options) as world:
        yield world


@pytest.fixture
def page(browser: Any, kiosk: World) -> Iterator[Any]:
    context = browser.new_context(viewport=LANDSCAPE, locale="pt-PT", base_url=kiosk.base_url)
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot under artifacts/screens/ (kept for the report)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the current page (WCAG 2.1 A/AA)."""
    if not AXE_JS.exists():
        pytest.fail(f"axe-core missing at {AXE_JS}: run 'make e2e' (installs it from npm)")
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {
                runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            });
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")),
            }));
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def login(page: Any, user: str, password: str) -> None:
    page.goto("/")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_selector("#logout-button")


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)
