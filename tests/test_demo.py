"""The end-to-end demo counts at the receiver, and its logs carry no applicant data."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from appliance.demo import SITE
from appliance.local_central import local_central
from central.cases.synthetic import synthetic_day

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(400)
def test_demo_delivers_exactly_once_and_logs_no_personal_data() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "appliance",
            "--log-level",
            "DEBUG",
            "demo",
            "--enrolments",
            "3",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=390,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["enrolments"] == 3
    assert (summary["delivered"], summary["lost"], summary["duplicates"]) == (3, 0, 0)
    assert summary["with_quality"] == 3  # ICAO figures and NFIQ 2 scores in every manifest
    # The record of operations verified on the kiosk and accepted by central; every
    # daily ledger matches the receipts central issued.
    assert summary["audit_verified"] is True
    assert summary["ledger_matches_receipts"] is True
    assert set(summary) == {
        "enrolments", "delivered", "lost", "duplicates", "with_quality", "seconds",
        "audit_verified", "ledger_matches_receipts",
    }  # fmt: skip
    logs = result.stdout + result.stderr
    # The demo enrols the synthetic cases central seeds for its site today (deterministic).
    today = dt.datetime.now(ZoneInfo("Europe/Lisbon")).date()
    seeded = [c for c, a in synthetic_day(SITE, today, 3, "Europe/Lisbon") if c.status == "open"]
    personal = ["demo-op"]
    for case in seeded[:3]:
        personal += [case.case_reference, case.full_name, case.document_number]
    for value in personal:
        assert value not in logs


def test_demo_rejects_a_bad_count() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "appliance", "demo", "--enrolments", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "between 1 and 10000" in result.stderr


async def test_local_central_takes_a_token_that_begins_with_a_dash(tmp_path: Path) -> None:
    """The demo's tokens are token_urlsafe: one in 64 begins with "-", which argparse
    took for an option when the token was passed as a separate argument."""
    async with local_central(tmp_path / "central", ["-Tok3n_with-dash"]) as central:
        assert central.upload.startswith("127.0.0.1:")
