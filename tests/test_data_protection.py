"""Retention, as docs/data-protection.md states it: the record of operations and the workflow file.

- The record of operations keeps ``audit.retention_days``: whole days older than
  that are deleted once central holds them under an accepted checkpoint - never
  before - and the log still verifies afterwards; the daily ledgers go with them.
- The workflow file (case reference, operator, consent, receipt) is deleted when
  the enrolment ends, and an enrolment left untouched for
  ``retention.enrolment_hours`` is ended by the retention service.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appliance.app import Appliance
from appliance.audit import AuditService, AuditSettings, read_entries, verify_log
from appliance.audit.uplink import SyncResult
from appliance.config.model import ApplianceConfig
from appliance.retention import Retention
from tests.audit_world import make_signer

pytestmark = pytest.mark.timeout(240)

DAY = 86400.0
START = 1_780_000_000.0  # 2026-05-28


def _stamp(moment: float) -> str:
    from datetime import UTC, datetime

    from packet.timestamps import format_timestamp

    return format_timestamp(datetime.fromtimestamp(moment, UTC))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _service(state_dir: Path, clock: Clock, retention_days: int = 90) -> AuditService:
    settings = AuditSettings(
        checkpoint_interval_s=300,
        retention_days=retention_days,
        time_zone="Europe/Lisbon",
        site_id="CLAIM-T",
    )
    audit = AuditService(state_dir, settings, signer=make_signer(), clock=clock)
    audit.open("demo", {})
    return audit


def test_the_record_of_operations_keeps_its_retention_and_no_more(tmp_path: Path) -> None:
    clock = Clock(START)
    signer = make_signer()
    audit = _service(tmp_path, clock)
    audit.signer = audit.log.signer = signer
    for day in range(120):
        clock.now = START + day * DAY
        audit.record("auth.login", {"user": "op", "role": "operator"})
        audit.log.checkpoint()
        head = audit.log.checkpoints.latest()
        assert head is not None and head.checkpoint is not None
        audit.ledgers.sign_changed(audit.book, signer, head.checkpoint, clock.now)
    segments = len(list((tmp_path / "audit").glob("segment-*.log")))
    assert segments >= 120
    accepted = audit.log.size
    # Central has accepted nothing yet: nothing goes, however old.
    audit.last_sync = SyncResult(entries_held=0, checkpoint_size=0)
    assert audit.prune() == 0
    # Central holds everything: whole days older than 90 go, the last 90 stay.
    audit.last_sync = SyncResult(entries_held=accepted, checkpoint_size=accepted)
    removed = audit.prune()
    assert removed == 29  # days 0..28: older than 90 days on day 119
    entries = read_entries(tmp_path / "audit")
    assert min(e.time for e in entries) == _stamp(START + 29 * DAY)
    assert entries[-1].event == "audit.pruned"
    days = sorted(p.name for p in (tmp_path / "audit" / "ledger").glob("*.note"))
    assert days[0] >= _stamp(START + 29 * DAY)[:10]
    report = verify_log(tmp_path / "audit")
    assert report.ok, report.to_json()
    assert report.base > 0 and report.verified_checkpoints >= 90
    base = json.loads((tmp_path / "audit" / "base.json").read_text())
    assert base["size"] == report.base
    # Reopened (a restart), the pruned log goes on and still verifies.
    again = _service(tmp_path, clock)
    again.signer = again.log.signer = signer
    again.record("auth.logout", {"user": "op", "reason": "logout"})
    again.log.checkpoint()
    assert verify_log(tmp_path / "audit").ok


def test_an_unprovisioned_kiosk_prunes_by_age_alone(tmp_path: Path) -> None:
    clock = Clock(START)
    settings = AuditSettings(300, 31, "Europe/Lisbon", "CLAIM-T")
    audit = AuditService(tmp_path, settings, signer=None, clock=clock)
    audit.open("demo", {})
    for day in range(40):
        clock.now = START + day * DAY
        audit.record("auth.login", {"user": "op", "role": "operator"})
    assert audit.prune() == 8  # days 0..7: older than 31 days on day 39
    assert min(e.time for e in read_entries(tmp_path / "audit")) == _stamp(START + 8 * DAY)


@pytest.fixture
async def kiosk(tmp_path: Path) -> AsyncIterator[Appliance]:
    config = ApplianceConfig.model_validate(
        {
            "site": {"claim_id": "CLAIM-TEST-1", "municipality": "Lisboa"},
            "central": {"endpoint": "127.0.0.1:1"},
            "devices": {
                "face_camera": {"type": "sim", "fps": 30},
                "fingerprint_reader": {"type": "sim", "finger_delay_s": 0, "lift_delay_s": 0},
            },
            "storage": {"state_dir": str(tmp_path / "state")},
        }
    )
    appliance = Appliance(config, serve_web=False)
    await appliance.start()
    try:
        yield appliance
    finally:
        await appliance.stop()


async def test_the_workflow_file_lives_only_as_long_as_its_enrolment(kiosk: Appliance) -> None:
    workflow = kiosk.workflow
    state_dir = kiosk.config.storage.state_dir
    current = state_dir / "workflow" / "current.json"
    await workflow.start("AIMA-RET-0001", "pt-PT", "op")
    assert "AIMA-RET-0001" in current.read_text()
    await workflow.cancel()
    assert not current.exists()
    # Left untouched beyond retention.enrolment_hours: the retention service ends it.
    await workflow.start("AIMA-RET-0002", "pt-PT", "op")
    await workflow.consent(True)
    hours = kiosk.config.retention.enrolment_hours
    early = Retention(None, kiosk.config.retention, workflow, state_dir / "workflow")
    await early.run_once()
    assert current.exists()
    late = Retention(
        None,
        kiosk.config.retention,
        workflow,
        state_dir / "workflow",
        clock=lambda: time.time() + hours * 3600 + 1,
    )
    await late.run_once()
    assert not current.exists() and workflow.record is None
    # A record set aside as unreadable is deleted after the same time.
    aside = state_dir / "workflow" / "current.unreadable"
    aside.write_text('{"case_reference": "AIMA-RET-0003"}')
    await early.run_once()
    assert aside.exists()
    stale = time.time() - hours * 3600 - 10
    os.utime(aside, (stale, stale))
    await early.run_once()
    assert not aside.exists()
    # Every step of it is in the record of operations, the reference only as a digest.
    events = [e.event for e in read_entries(state_dir / "audit")]
    assert events.count("enrolment.started") == 2 and events.count("enrolment.cancelled") == 2
    assert "consent.given" in events
    audit_bytes = b"".join(p.read_bytes() for p in (state_dir / "audit").glob("segment-*"))
    assert b"AIMA-RET" not in audit_bytes
