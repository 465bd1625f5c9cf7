"""SBI: one previousHash chain per enrolment, captureTime without fraction, both error spellings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from drivers.errors import DeviceError
from drivers.sbi import protocol
from drivers.sbi.client import iso_time, stream_error
from drivers.sbi.errors import SbiProtocolError, error_fields, raise_for_error


def test_capture_time_has_no_fraction() -> None:
    when = dt.datetime(2026, 11, 23, 10, 0, 5, 987654, tzinfo=dt.UTC)
    assert iso_time(when) == "2026-11-23T10:00:05Z"


@pytest.mark.parametrize(
    "error",
    [
        {"errorCode": "101", "errorInfo": "no finger"},
        {"errorcode": "101", "errorinfo": "no finger"},  # the June-2020 0.9.5 spelling
        {"errorcode": 101},
    ],
)
def test_both_error_spellings_are_errors(error: dict[str, object]) -> None:
    with pytest.raises(DeviceError):
        raise_for_error(error)
    assert not isinstance(
        stream_error(b'{"error": %s}' % str(error).replace("'", '"').encode()), SbiProtocolError
    )


@pytest.mark.parametrize(
    "error", [None, {}, {"errorCode": "0"}, {"errorcode": "0", "errorinfo": "Success"}]
)
def test_success_in_either_spelling(error: object) -> None:
    raise_for_error(error)
    assert error_fields({"errorcode": "0", "errorinfo": "Success"}) == ("0", "Success")


def test_one_chain_runs_across_the_captures_of_an_enrolment() -> None:
    chain = protocol.CaptureChain()
    assert chain.last_hash == protocol.EMPTY_HASH
    slap = protocol.chain_hash(chain.last_hash, b"FIR\x00 slap")
    chain.advance(protocol.EMPTY_HASH, slap)
    face = protocol.chain_hash(chain.last_hash, b"FAC\x00 face")
    chain.advance(slap, face)
    assert (chain.last_hash, chain.captures) == (face, 2)
    with pytest.raises(SbiProtocolError, match="moved"):
        chain.advance(slap, face)  # a capture sent with a stale previousHash


def test_the_request_carries_the_chain() -> None:
    device = protocol.DiscoveredDevice(
        port=4501,
        device_id="d",
        serial="S1",
        status="Ready",
        certification="SBI 1.0",
        purpose="Registration",
        spec_versions=("1.0",),
        sub_ids=(1,),
        bio_type="Finger",
        device_sub_type="Slap",
    )
    body = protocol.rcapture_request(
        device,
        "1.0",
        env="Staging",
        bio_type="Finger",
        sub_id=1,
        sub_types=[],
        exceptions=[],
        requested_score=40,
        timeout_ms=10000,
        capture_time="2026-11-23T10:00:05Z",
        transaction_id="claim-abc1",
        previous_hash="AB" * 32,
    )
    assert body["bio"][0]["previousHash"] == "AB" * 32
    assert body["captureTime"] == "2026-11-23T10:00:05Z"


def test_the_reader_keeps_one_chain_per_enrolment() -> None:
    from drivers.sbi.config import SbiReaderConfig
    from drivers.sbi.reader import MAX_CHAINS, SbiFingerprintReader

    reader = SbiFingerprintReader(
        SbiReaderConfig(type="sbi", trust_anchors=[Path("/nonexistent.pem")])
    )
    first = reader._chain("enrolment-a")
    assert first is not None and reader._chain("enrolment-a") is first
    assert reader._chain("enrolment-b") is not first
    assert reader._chain("") is None  # a capture outside an enrolment is not chained
    for number in range(MAX_CHAINS + 3):
        reader._chain(f"later-{number}")
    assert len(reader._chains) == MAX_CHAINS
    assert "enrolment-a" not in reader._chains
