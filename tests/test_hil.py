"""``appliance hil``: the conformance suite on the simulated and emulated devices."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.hil.model import Capability, HilTarget, TestResult
from appliance.hil.registry import PROVIDERS, load_providers, register
from appliance.hil.runner import run_target, summary
from appliance.hil.signing import DeviceKeyRing, token_kid, verify
from drivers.interfaces import FingerprintReader
from drivers.sim.config import SimReaderConfig
from drivers.sim.reader import SimFingerprintReader

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[1]
COMMON = {"discover", "device_info", "capture", "quality", "signature", "key_rotation"}
USB_FAULTS = {"stall_recovery", "corrupt_frames", "transfer_timeout", "access_denied"}


def _hil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", "hil", *args],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
    )


def test_simulated_suite_passes_on_the_sim_reader_and_the_emulated_uru4000() -> None:
    result = _hil("--simulated", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    report = lines[-1]
    assert set(report) == {"tests", "passed", "failed", "results"}
    assert report["tests"] >= 8
    assert report["passed"] == report["tests"] and report["failed"] == 0
    assert report["results"] == lines[:-1]  # one object per test, streamed before the summary
    for row in report["results"]:
        assert set(row) == {"name", "device", "passed", "ms", "detail"}
        assert row["passed"] is True, row
    by_device: dict[str, set[str]] = {}
    for row in report["results"]:
        by_device.setdefault(row["device"], set()).add(row["name"])
    assert COMMON | {"unplug_replug", "capture_timeout"} <= by_device["sim-reader"]
    assert (
        COMMON | {"unplug_replug", "capture_timeout"} | USB_FAULTS <= by_device["uru4000-emulated"]
    )
    unplug = next(
        r
        for r in report["results"]
        if r["device"] == "uru4000-emulated" and r["name"] == "unplug_replug"
    )
    assert "reopened at bus 1 addr 3 (was bus 1 addr 2)" in unplug["detail"]


def test_without_devices_it_says_so_and_fails() -> None:
    result = _hil("--target", "sim", "--json")  # the sim provider has no real devices
    assert result.returncode == 1
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["tests"] == 1 and report["failed"] == 1
    assert "no supported device found" in report["results"][0]["detail"]
    assert "--simulated" in result.stderr


def test_human_output_and_unknown_provider() -> None:
    result = _hil("--simulated", "--target", "sim")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith("passed, 0 failed")
    assert all(line.startswith("PASS ") for line in result.stdout.splitlines()[:-1])
    bad = _hil("--target", "nope")
    assert bad.returncode == 2 and "unknown target provider" in bad.stderr


class _BrokenTarget(HilTarget):
    """A device whose reader never opens: every check must fail, none may crash the run."""

    name = "broken"

    async def discover(self) -> str:
        raise LookupError("not on the bus")

    def make_reader(self) -> FingerprintReader:
        reader = SimFingerprintReader(SimReaderConfig(type="sim"))
        reader.faults.unplug()
        return reader


async def test_failures_are_reported_not_raised() -> None:
    seen: list[TestResult] = []
    results = await run_target(_BrokenTarget(), finger_timeout_s=1.0, on_result=seen.append)
    assert results == seen
    assert results and not any(r.passed for r in results)
    assert results[0].detail == "LookupError: not on the bus"
    assert "DeviceDisconnected (device.disconnected)" in results[1].detail
    report = summary(results)
    assert report["failed"] == report["tests"] == len(results)


class _OneShotProvider:
    name = "extra"

    def targets(self, simulated: bool) -> list[HilTarget]:
        return [_BrokenTarget()]

    def looking_for(self) -> str:
        return "nothing"


def test_a_new_device_family_registers_a_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("appliance.hil.registry.PROVIDERS", dict(PROVIDERS))
    register("extra", f"{__name__}:_OneShotProvider")
    (provider,) = load_providers(["extra"])
    (target,) = provider.targets(simulated=True)
    assert provider.looking_for() == "nothing"
    assert target.name == "broken" and target.capabilities == frozenset()


def test_capabilities_select_the_checks() -> None:
    from appliance.hil.checks import CHECKS

    names = [c.name for c in CHECKS if not c.requires]
    assert names[:3] == ["discover", "device_info", "capture"]
    assert {c.name for c in CHECKS if Capability.USB_FAULTS in c.requires} == USB_FAULTS - {
        "access_denied"
    }


def test_signature_and_rotation() -> None:
    ring = DeviceKeyRing()
    old = ring.sign({"bio": 1})
    old_kid = ring.kid
    public = ring.public_key(old_kid)
    assert public is not None and verify(old, public) == {"bio": 1}
    header, body, sig = old.split(".")
    assert verify(f"{header}.{body[:-2]}AA.{sig}", public) is None
    assert verify("not a token", public) is None
    new_kid = ring.rotate()
    new = ring.sign({"bio": 2})
    assert token_kid(new) == new_kid != old_kid
    assert verify(new, public) is None
    retired = ring.public_key(old_kid)
    assert retired is not None and verify(old, retired) == {"bio": 1}
