"""The systemd units verify, and appliance.service's exposure score stays at most 2.0."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNITS = [
    "appliance.service",
    "appliance-receiver.service",
    "appliance-receiver-replica.service",
    "kiosk.service",
]
pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def _unit_file(unit: str) -> Path:
    """Kiosk units ship in systemd/; the central replica's in packaging/central/."""
    kiosk = ROOT / "systemd" / unit
    return kiosk if kiosk.exists() else ROOT / "packaging" / "central" / unit


def _copy_with_existing_binaries(unit: str, directory: Path) -> Path:
    """verify checks that ExecStart binaries exist: point them at /bin/true in a copy."""
    text = _unit_file(unit).read_text()
    text = re.sub(r"^ExecStart=\S+", "ExecStart=/bin/true", text, flags=re.MULTILINE)
    path = directory / unit
    path.write_text(text)
    return path


@pytest.mark.parametrize("unit", UNITS)
def test_unit_verifies(unit: str, tmp_path: Path) -> None:
    for other in UNITS:  # Requires=/After= between our units resolve in the same directory
        _copy_with_existing_binaries(other, tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [
        line
        for line in result.stderr.splitlines()
        if (unit in line and "Unknown" in line) or "Failed" in line
    ]
    assert result.returncode == 0 and not problems, result.stderr


def test_exposure_score_is_at_most_two() -> None:
    result = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=true",
            str(ROOT / "systemd" / "appliance.service"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for appliance\.service: ([0-9.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0


def test_hardening_settings_the_issue_names() -> None:
    text = (ROOT / "systemd" / "appliance.service").read_text()
    for setting in [
        "Type=notify",
        "WatchdogSec=",
        "StartLimitAction=",
        "LoadCredential=",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=",
        "SystemCallFilter=@system-service",
        "DevicePolicy=closed",
        "DeviceAllow=char-usb_device rw",
        "DeviceAllow=char-video4linux rw",
        "StateDirectory=appliance",
        "User=appliance",
    ]:
        assert setting in text, setting


@pytest.mark.parametrize("unit", ["appliance-bless.service", "data.mount"])
def test_image_unit_verifies(unit: str, tmp_path: Path) -> None:
    for other in UNITS:
        _copy_with_existing_binaries(other, tmp_path)
    (tmp_path / unit).write_text((ROOT / "image" / "common" / unit).read_text())
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [line for line in result.stderr.splitlines() if unit in line]
    assert result.returncode == 0 and not problems, result.stderr
