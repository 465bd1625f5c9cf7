"""Full workflow enrolments with central unreachable: no plaintext biometric on disk, and
none of the applicants' data from the day's appointment list (names, dates of birth,
document numbers: the list is sealed to the device key)."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.demo import capture_all, submit
from packet.scan import MAGIC_SIGNATURES, scan_tree
from tests.e2e.world import SITE, kiosk_world


@pytest.mark.timeout(300)
async def test_state_directory_holds_no_plaintext(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path, central_up=False) as world:
        workflow = world.app.workflow
        known: dict[str, bytes] = {}
        for number in range(2):
            case = f"AIMA-2026-{number:06d}"
            await capture_all(workflow, case)
            for capture in workflow.capture.current:
                data = bytes(capture.data)
                known[f"{case} {capture.name} head"] = data[64:128]
                middle = len(data) // 2
                known[f"{case} {capture.name} middle"] = data[middle : middle + 64]
            await submit(workflow)
        assert world.app.outbox is not None and world.app.outbox.status().depth == 2
        assert len(known) >= 2 * 2 * 14  # face, 13 finger items, records, document, consent
        cases = world.app.cases
        assert cases is not None and (world.root / "state" / "cases").is_dir()
        listed = cases.appointments(cases.today())
        assert listed and all(a.site_id == SITE for a in listed)
        for a in listed:  # the started ones were verified from this list, offline
            known[f"name of {a.case_reference}"] = a.full_name.encode()
            known[f"name (utf-16) of {a.case_reference}"] = a.full_name.encode("utf-16-le")
            known[f"document of {a.case_reference}"] = a.document_number.encode()
            if len(a.date_of_birth) == 10:
                known[f"birth of {a.case_reference}"] = f'"{a.date_of_birth}"'.encode()
        assert scan_tree(world.root / "state", known) == []


def test_the_scanner_finds_plaintext(tmp_path: Path) -> None:
    (tmp_path / "leak.jpg").write_bytes(MAGIC_SIGNATURES["jpeg"] + b"rest")
    (tmp_path / "db").write_bytes(b"....AIMA-CASE-0001....")
    findings = scan_tree(tmp_path, {"case": b"AIMA-CASE-0001"})
    assert {f.what for f in findings} == {"jpeg", "case"}
