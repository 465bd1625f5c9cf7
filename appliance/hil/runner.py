"""Run the conformance checks against targets and report one result per check."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from appliance.hil.checks import CHECKS, Check
from appliance.hil.model import CheckFailed, HilTarget, TestResult
from appliance.hil.session import TargetSession
from drivers.errors import DeviceError

logger = logging.getLogger(__name__)

ResultCallback = Callable[[TestResult], None]


def describe_failure(exc: BaseException) -> str:
    if isinstance(exc, DeviceError):
        return f"{type(exc).__name__} ({exc.message_key}): {exc.detail}"
    if isinstance(exc, (CheckFailed, AssertionError)) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


async def _run_check(check: Check, session: TargetSession, limit_s: float) -> TestResult:
    started = time.perf_counter()
    passed = False
    try:
        detail = await asyncio.wait_for(check.run(session), timeout=limit_s)
        passed = True
    except TimeoutError:
        detail = f"did not finish within {limit_s:.0f} s"
    except Exception as exc:  # every failure becomes a result, never a crash
        logger.debug("check %s failed", check.name, exc_info=True)
        detail = describe_failure(exc)
    finally:
        session.target.clear_faults()
    ms = (time.perf_counter() - started) * 1000
    return TestResult(check.name, session.target.name, passed, ms, detail)


async def run_target(
    target: HilTarget,
    *,
    finger_timeout_s: float = 20.0,
    on_result: ResultCallback | None = None,
) -> list[TestResult]:
    """Every check the target's capabilities allow, in order."""
    session = TargetSession(target, finger_timeout_s=finger_timeout_s)
    limit_s = max(60.0, 3 * finger_timeout_s)
    results: list[TestResult] = []
    try:
        for check in CHECKS:
            if not check.requires <= target.capabilities:
                continue
            result = await _run_check(check, session, limit_s)
            results.append(result)
            if on_result is not None:
                on_result(result)
    finally:
        await session.aclose()
    return results


async def run_suite(
    targets: list[HilTarget],
    *,
    finger_timeout_s: float = 20.0,
    on_result: ResultCallback | None = None,
) -> list[TestResult]:
    results: list[TestResult] = []
    for target in targets:
        results += await run_target(target, finger_timeout_s=finger_timeout_s, on_result=on_result)
    return results


def summary(results: list[TestResult]) -> dict[str, object]:
    passed = sum(r.passed for r in results)
    return {
        "tests": len(results),
        "passed": passed,
        "failed": len(results) - passed,
        "results": [r.as_dict() for r in results],
    }
