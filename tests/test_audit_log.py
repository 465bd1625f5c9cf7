"""The record of operations on the kiosk: append-only, crash-safe, pseudonymised, verifiable.

Done-when of issue 17: changing one byte of one entry in a copy of the log makes
``appliance audit verify`` exit non-zero and name that entry.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.audit import case_history, inclusion_proof, read_entries, verify_log
from appliance.audit.pseudonym import CaseKey
from tests.audit_world import copy_log, enrolment, make_signer, open_log, segment
from transparency.entries import EntryError
from transparency.merkle import leaf_hash, verify_inclusion

pytestmark = pytest.mark.timeout(120)

CASE = "AIMA-2026-000123"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", "audit", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def signed_log(tmp_path: Path) -> Path:
    """A kiosk state dir with three enrolments and a checkpoint after each."""
    log = open_log(tmp_path, make_signer())
    log.append("auth.login", user="op", role="operator")
    for number in range(3):
        enrolment(log, number, f"{CASE}-{number}")
        assert log.checkpoint() is not None
    return tmp_path


def test_entries_are_canonical_leaves_and_case_references_never_reach_the_disk(
    signed_log: Path,
) -> None:
    log_dir = signed_log / "audit"
    raw = b"".join(p.read_bytes() for p in sorted(log_dir.rglob("*")) if p.is_file())
    assert CASE.encode() not in raw
    digest = CaseKey.load_or_create(signed_log).digest(f"{CASE}-1")
    assert digest.encode() in raw
    for line in segment(log_dir).read_bytes().splitlines():
        stored, entry = line.split(b" ", 1)
        assert leaf_hash(entry).hex().encode() == stored
    report = verify_log(log_dir)
    assert report.ok, report.to_json()
    assert report.entries == 16 and report.verified_checkpoints == report.checkpoints == 3


def test_undocumented_events_and_fields_are_refused(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    with pytest.raises(EntryError, match="undocumented event"):
        log.append("face.template", data="...")
    with pytest.raises(EntryError, match="undocumented fields image"):
        log.append("capture.attempt", item="face", image="...")
    with pytest.raises(EntryError):
        log.append("auth.login", user=b"\xff\xd8 image bytes", role="operator")
    with pytest.raises(EntryError):
        log.append("capture.attempt", item="face", failed=[["nested"]])
    assert log.size == 0


def test_the_enrolment_in_progress_is_filled_in(tmp_path: Path) -> None:
    log = open_log(tmp_path)
    log.append("enrolment.started", workflow_id="w1", operator="op", language="en")
    attempt = log.append("capture.attempt", item="face", accepted=True, failed=[])
    assert attempt.fields["workflow_id"] == "w1"
    log.append("enrolment.cancelled", operator="op", step="face")
    later = log.append("capture.attempt", item="face", accepted=True, failed=[])
    assert "workflow_id" not in later.fields


def test_one_changed_byte_in_a_copy_names_that_entry(signed_log: Path, tmp_path: Path) -> None:
    copy = copy_log(signed_log, tmp_path / "copy")
    path = segment(copy)
    lines = path.read_bytes().splitlines(keepends=True)
    target = 7
    line = bytearray(lines[target])
    position = line.index(b'"operator":"op"') + len(b'"operator":"o')
    line[position] = ord("q")  # one byte of one entry, still valid JSON
    lines[target] = bytes(line)
    path.write_bytes(b"".join(lines))
    result = _cli("verify", "--log", str(copy), "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["first_bad_entry"] == target
    assert _cli("verify", "--log", str(signed_log / "audit")).returncode == 0
    text = _cli("verify", "--log", str(copy))
    assert text.returncode == 1 and f"first bad entry: {target}" in text.stdout


def test_a_consistent_local_rewrite_is_caught_by_the_signed_heads(
    signed_log: Path, tmp_path: Path
) -> None:
    """Entry and its stored hash both rewritten: only the signatures can tell."""
    copy = copy_log(signed_log, tmp_path / "copy")
    path = segment(copy)
    lines = path.read_bytes().splitlines(keepends=True)
    entry = (
        lines[3].split(b" ", 1)[1].rstrip(b"\n").replace(b'"accepted":true', b'"accepted":false')
    )
    lines[3] = leaf_hash(entry).hex().encode() + b" " + entry + b"\n"
    path.write_bytes(b"".join(lines))
    report = verify_log(copy)
    assert not report.ok
    assert report.first_bad_entry is not None and report.first_bad_entry <= 3
    assert any("rewritten" in p.what for p in report.problems)


def test_a_truncated_copy_is_named_as_truncated(signed_log: Path, tmp_path: Path) -> None:
    copy = copy_log(signed_log, tmp_path / "copy")
    path = segment(copy)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-4]))
    report = verify_log(copy)
    assert not report.ok
    assert any("truncated" in p.what for p in report.problems)


def test_a_torn_tail_is_set_aside_and_recorded_never_dropped(signed_log: Path) -> None:
    path = segment(signed_log / "audit")
    with path.open("ab") as handle:
        handle.write(b'0123abcd {"event":"auth.lo')  # a crash in the middle of a write
    before = verify_log(signed_log / "audit")
    assert before.ok and any("torn" in w for w in before.warnings)
    log = open_log(signed_log, make_signer())
    torn = [e for e in read_entries(signed_log / "audit") if e.event == "audit.torn_tail"]
    assert len(torn) == 1 and torn[0].fields["bytes"] == 26
    kept = signed_log / "audit" / torn[0].fields["kept_as"]
    assert kept.read_bytes().startswith(b"0123abcd")
    log.checkpoint()
    assert verify_log(signed_log / "audit").ok


def test_another_process_appending_is_taken_in(tmp_path: Path) -> None:
    daemon = open_log(tmp_path)
    cli = open_log(tmp_path)
    daemon.append("auth.login", user="op", role="operator")
    cli.append("tech.action", user="tech", action="account_created", target="op2")
    daemon.append("auth.logout", user="op", reason="logout")
    assert daemon.size == 3
    assert [e.event for e in read_entries(tmp_path / "audit")] == [
        "auth.login",
        "tech.action",
        "auth.logout",
    ]
    assert verify_log(tmp_path / "audit").ok


def test_show_lists_one_case_and_prove_gives_a_checkable_inclusion_proof(
    signed_log: Path,
) -> None:
    digest = CaseKey.load_or_create(signed_log).digest(f"{CASE}-1")
    story = case_history(read_entries(signed_log / "audit"), digest)
    assert [e.event for e in story] == [
        "enrolment.started",
        "consent.given",
        "capture.attempt",
        "capture.attempt",
        "enrolment.sealed",
    ]
    shown = _cli("show", "--case", f" {CASE.lower()}-1 ", "--state-dir", str(signed_log), "--json")
    assert shown.returncode == 0, shown.stderr
    assert len(json.loads(shown.stdout)["entries"]) == 5
    bundle = inclusion_proof(signed_log / "audit", 4)
    leaf = leaf_hash(bundle["entry"].encode())
    import base64

    root = base64.b64decode(bundle["root_hash"])
    path = [bytes.fromhex(h) for h in bundle["inclusion_path"]]
    assert bundle["verified"] and verify_inclusion(4, bundle["tree_size"], leaf, path, root)
    proved = _cli("prove", "--index", "4", "--state-dir", str(signed_log), "--json")
    assert proved.returncode == 0 and json.loads(proved.stdout)["leaf_hash"] == leaf.hex()
    assert _cli("prove", "--index", "99", "--state-dir", str(signed_log)).returncode == 2


def test_a_deleted_segment_stops_the_start_and_is_named_by_verify(tmp_path: Path) -> None:
    from appliance.models_check import StartupError

    now = [1_780_000_000.0]
    log = open_log(tmp_path, clock=lambda: now[0])
    for day in range(3):
        now[0] = 1_780_000_000.0 + day * 86400
        log.append("auth.login", user="op", role="operator")
        log.append("auth.logout", user="op", reason="logout")
    segments = sorted((tmp_path / "audit").glob("segment-*.log"))
    assert len(segments) == 3
    segments[1].unlink()
    report = verify_log(tmp_path / "audit")
    assert not report.ok and report.first_bad_entry == 4
    with pytest.raises(StartupError, match=r"entries 2\.\.3 are missing"):
        open_log(tmp_path)
