"""Suite-wide options: ``--hil`` enables tests that need real hardware."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fastapi_caches import forget_classified_callables
from tests.softhsm import softhsm_token  # noqa: F401  (a fixture shared by the PKCS#11 tests)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--hil",
        action="store_true",
        default=False,
        help="run hardware-in-the-loop tests against real attached devices",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--hil"):
        return
    skip = pytest.mark.skip(reason="needs real hardware: run with --hil")
    for item in items:
        if item.get_closest_marker("hil") is not None:  # not keywords: test_help[hil] runs
            item.add_marker(skip)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that executes no test is a failure (pytest's exit code 5 becomes 1)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    executed = 0
    if reporter is not None:
        executed = sum(len(reporter.stats.get(key, [])) for key in ("passed", "failed", "error"))
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED or (
        exitstatus == pytest.ExitCode.OK and executed == 0
    ):
        if reporter is not None:
            reporter.write_line("ERROR: no test was executed; refusing to report success", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _release_fastapi_route_caches() -> Iterator[None]:
    """Applications a test started can be released after it (see tests/fastapi_caches.py)."""
    yield
    forget_classified_callables()
