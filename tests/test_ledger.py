"""The service ledger: daily counts from the log, signatures, reconciliation, statistics."""

from __future__ import annotations

import pytest

from appliance.audit.book import LedgerBook
from tests.audit_world import make_signer
from transparency.entries import Entry
from transparency.ledger import (
    DayLedger,
    Delivery,
    LedgerError,
    open_ledger,
    read_ledger,
    reconcile,
    sign_ledger,
)
from transparency.statistics import summarise, summarise_by, to_csv

pytestmark = pytest.mark.timeout(60)


def _entries(*items: tuple[str, str, dict[str, object]]) -> list[Entry]:
    return [Entry(i, time, event, fields) for i, (time, event, fields) in enumerate(items)]


def _book(entries: list[Entry]) -> LedgerBook:
    book = LedgerBook("dev-1", "CLAIM-T", "Europe/Lisbon")
    for entry in entries:
        book(entry)
    return book


DAY = [
    ("2026-07-01T09:00:00.000Z", "appointments.listed",
     {"day": "2026-07-01", "count": 3, "case_digests": ["a", "b", "c"]}),
    ("2026-07-01T09:10:00.000Z", "enrolment.started",
     {"workflow_id": "w1", "operator": "op", "language": "en", "case_digest": "a"}),
    ("2026-07-01T09:11:00.000Z", "capture.attempt",
     {"workflow_id": "w1", "item": "face", "accepted": False, "failed": ["eyes_open"],
      "duration_ms": 400}),
    ("2026-07-01T09:12:00.000Z", "capture.attempt",
     {"workflow_id": "w1", "item": "face", "accepted": True, "failed": [], "duration_ms": 600}),
    ("2026-07-01T09:14:00.000Z", "capture.attempt",
     {"workflow_id": "w1", "item": "slap_right_four", "accepted": True, "failed": [],
      "duration_ms": 1000}),
    ("2026-07-01T09:15:00.000Z", "exception.confirmed",
     {"workflow_id": "w1", "kind": "missing_finger", "position": 2, "reason": "XX",
      "declared_by": "op", "confirmed_by": "sup"}),
    ("2026-07-01T09:20:00.000Z", "enrolment.sealed",
     {"workflow_id": "w1", "packet_id": "p1", "duration_ms": 1000}),
    ("2026-07-01T10:00:00.000Z", "case.check_in",
     {"operator": "op", "case_digest": "b", "mode": "online"}),
    ("2026-07-01T10:01:00.000Z", "enrolment.started",
     {"workflow_id": "w2", "operator": "op", "language": "en", "case_digest": "b"}),
    ("2026-07-01T10:02:00.000Z", "enrolment.cancelled",
     {"workflow_id": "w2", "operator": "op", "step": "face"}),
    # The receipt of p1 is signed by central just after local midnight (UTC+1 in July):
    ("2026-07-01T23:30:00.000Z", "packet.delivered",
     {"packet_id": "p1", "accepted_at": "2026-07-01T22:59:59.000Z", "receipt_sha256": "x"}),
    ("2026-07-01T23:31:00.000Z", "packet.delivered",
     {"packet_id": "p1", "accepted_at": "2026-07-01T22:59:59.000Z", "receipt_sha256": "x"}),
]  # fmt: skip


def test_a_day_is_counted_from_its_entries() -> None:
    book = _book(_entries(*DAY))
    ledger = book.ledger("2026-07-01")
    assert ledger.start == "2026-06-30T23:00:00.000Z" and ledger.end == "2026-07-01T23:00:00.000Z"
    counts = ledger.counts
    assert (counts["started"], counts["completed"], counts["cancelled"]) == (2, 1, 1)
    assert (counts["exceptions"], counts["check_ins"], counts["capture_attempts"]) == (1, 1, 3)
    assert counts["delivered"] == 1 and ledger.delivered == [
        Delivery("p1", "2026-07-01T22:59:59.000Z")
    ]
    assert ledger.timing == {"timed": 1, "wall_ms": 600_000, "software_ms": 3000}
    assert ledger.quality["face"] == {"attempts": 2, "rejects": 1}
    assert ledger.quality["face.eyes_open"] == {"attempts": 2, "rejects": 1}
    assert ledger.quality["slap"] == {"attempts": 1, "rejects": 0}
    assert (ledger.appointments, ledger.no_shows, ledger.no_show_basis) == (3, 1, "day_list")
    assert book.ledger("2026-07-02").counts["delivered"] == 0
    assert book.day_of(ledger_time("2026-07-01T23:30:00.000Z")) == "2026-07-02"


def ledger_time(text: str):  # type: ignore[no-untyped-def]
    from packet.timestamps import parse_timestamp

    return parse_timestamp(text)


def test_summer_time_days_and_no_list() -> None:
    book = LedgerBook("dev-1", "CLAIM-T", "Europe/Lisbon")
    assert book.bounds("2026-03-29") == ("2026-03-29T00:00:00.000Z", "2026-03-29T23:00:00.000Z")
    assert book.bounds("2026-10-25") == ("2026-10-24T23:00:00.000Z", "2026-10-26T00:00:00.000Z")
    azores = LedgerBook("dev-2", "CLAIM-A", "Atlantic/Azores")
    assert azores.bounds("2026-01-10")[0] == "2026-01-10T01:00:00.000Z"
    ledger = book.ledger("2026-03-29")
    assert ledger.no_show_basis == "none" and ledger.no_shows is None


def _signed(ledger: DayLedger) -> tuple[bytes, object]:
    signer = make_signer(ledger.device_id)
    ledger.as_of = "2026-07-02T08:00:00.000Z"
    return sign_ledger(ledger, signer.sign, signer.chain[0].public_key()), signer


def test_ledgers_are_signed_canonical_and_bound_to_their_device() -> None:
    ledger = _book(_entries(*DAY)).ledger("2026-07-01")
    ledger.device_id = "dev-000000000001"
    note, signer = _signed(ledger)
    assert note.startswith(b"claim-ledger/v1\n{")
    opened = open_ledger(note, signer.chain[0])  # type: ignore[attr-defined]
    assert opened.to_json() == ledger.to_json()
    with pytest.raises(LedgerError):
        open_ledger(note.replace(b'"completed":1', b'"completed":9'), signer.chain[0])  # type: ignore[attr-defined]
    with pytest.raises(LedgerError, match="another device"):
        open_ledger(note, make_signer("dev-000000000002").chain[0])
    with pytest.raises(LedgerError):
        read_ledger(note.replace(b'{"appointments"', b'{ "appointments"'))
    with pytest.raises(LedgerError):
        read_ledger(b"x" * 70_000)


def test_reconciliation_against_receipts() -> None:
    ledger = _book(_entries(*DAY)).ledger("2026-07-01")
    ledger.as_of = "2026-07-02T08:00:00.000Z"
    ok = reconcile(ledger, [("p1", "2026-07-01T22:59:59.000Z"), ("p9", "2026-07-02T09:00:00.000Z")])
    assert ok.matches and ok.receipts == 1
    missing = reconcile(
        ledger, [("p1", "2026-07-01T22:59:59.000Z"), ("p2", "2026-07-01T12:00:00.000Z")]
    )
    assert not missing.matches and missing.missing_at_kiosk == ("p2",)
    unknown = reconcile(ledger, [])
    assert not unknown.matches and unknown.unknown_at_central == ("p1",)
    ledger.as_of = "2026-07-01T22:00:30.000Z"
    ledger.delivered = []
    ledger.counts["delivered"] = 0
    pending = reconcile(ledger, [("p3", "2026-07-01T22:00:00.000Z")])
    assert pending.matches and pending.pending == ("p3",)


def test_statistics_add_up_across_kiosks_and_sites() -> None:
    first = _book(_entries(*DAY)).ledger("2026-07-01")
    second = _book(_entries(*DAY)).ledger("2026-07-01")
    second.device_id, second.site_id = "dev-2", "CLAIM-U"
    summary = summarise([first, second])
    assert summary["counts"]["completed"] == 2 and summary["days"] == 2
    assert summary["avg_wall_s"] == 600.0 and summary["avg_software_s"] == 3.0
    assert summary["no_show_rate"] == round(2 / 6, 4)
    assert summary["reject_rates"]["face.eyes_open"] == {"attempts": 4, "rejects": 2, "rate": 0.5}
    assert set(summarise_by([first, second], "site_id")) == {"CLAIM-T", "CLAIM-U"}
    csv = to_csv([first, second]).splitlines()
    assert csv[0].startswith("day,site_id,device_id,started,completed")
    assert len(csv) == 3 and csv[1].startswith("2026-07-01,CLAIM-T,dev-1,2,1,1,")
    empty = summarise([])
    assert empty["avg_wall_s"] is None and empty["no_show_rate"] is None
