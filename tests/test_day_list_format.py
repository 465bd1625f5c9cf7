"""The day-list format on its own: bounds before parsing, every member checked, the sealed
file with a PKCS#11 device key (ECDH on the token), appointment codes from QR slips."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.cases import sealed_file
from appliance.cases.sealed_file import SealedFileError, seal, unseal
from appliance.documents.qr import case_reference_from_payload
from appliance.identity.software_key import SoftwareDeviceKey
from central.cases.servicer import case_appointment
from central.cases.synthetic import synthetic_day
from packet.canonical import canonical_json
from packet.daylist import (
    MAX_DEPTH,
    MAX_LIST_BYTES,
    CaseAppointment,
    DayList,
    DayListInvalid,
    SignedDayList,
    parse_day_list,
    valid_reference,
)
from tests.softhsm import MODULE, key_label, needs_softhsm

pytestmark = pytest.mark.timeout(60)
DAY = dt.date(2026, 11, 23)
KEY = ec.generate_private_key(ec.SECP256R1())


def _listed(count: int = 3) -> DayList:
    rows = synthetic_day("CLAIM-T", DAY, count, "Europe/Lisbon")
    return DayList(
        site_id="CLAIM-T",
        day=DAY,
        time_zone="Europe/Lisbon",
        device_id="dev-0123456789ab",
        issued_at=dt.datetime(2026, 11, 23, 6, tzinfo=dt.UTC),
        not_after=dt.datetime(2026, 11, 24, tzinfo=dt.UTC),
        appointments=tuple(case_appointment(c, a[0]) for c, a in rows if a[0].site_id == "CLAIM-T"),
    )


def test_a_list_round_trips_through_canonical_json() -> None:
    listed = _listed()
    assert parse_day_list(listed.to_bytes()) == listed
    first = listed.appointments[0]
    assert listed.find(first.case_reference) == first == listed.find(first.appointment_code)
    assert listed.find("AIMA-2026-00000000") is None


def test_size_and_depth_are_checked_before_parsing() -> None:
    with pytest.raises(DayListInvalid) as big:
        parse_day_list(b" " * (MAX_LIST_BYTES + 1))
    assert big.value.code == "malformed"
    deep = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
    with pytest.raises(DayListInvalid) as nested:
        parse_day_list(deep)
    assert nested.value.code == "malformed"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("format",), "aima.day-list.v0"),
        (("appointments", 0, "case_status"), "archived"),
        (("appointments", 0, "appointment_code"), "APT-ILOU0000"),  # not Crockford
        (("appointments", 0, "applicant", "full_name"), "Nome\\u0000"),
        (("appointments", 0, "applicant", "date_of_birth"), "23/11/1990"),
        (("appointments", 0, "document", "number"), "ab 12"),
        (("appointments", 0, "window_start"), "2026-11-23T09:00:00Z"),  # not milliseconds
        (("site_id",), "x"),
        (("appointments", 1, "appointment_code"), None),  # a duplicate code
    ],
)
def test_every_member_is_checked(path: tuple[object, ...], value: object) -> None:
    data = json.loads(_listed().to_bytes())
    target = data
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    if value is None:
        target[path[-1]] = data["appointments"][0]["appointment_code"]  # type: ignore[index]
    else:
        target[path[-1]] = json.loads(f'"{value}"')  # type: ignore[index]
    with pytest.raises(DayListInvalid):
        parse_day_list(canonical_json(data))


def test_references_and_qr_slips() -> None:
    assert valid_reference("AIMA-2026-004217") and valid_reference("APT-7K3M9Q2X")
    assert not valid_reference("APT-7K3M9Q2") and not valid_reference("a b")
    assert case_reference_from_payload("AIMA:APPOINTMENT=APT-7K3M9Q2X") == "APT-7K3M9Q2X"
    assert case_reference_from_payload("https://x.example/a?appointment_code=APT-7K3M9Q2X") == (
        "APT-7K3M9Q2X"
    )
    with pytest.raises(DayListInvalid):
        CaseAppointment(**{**_listed().appointments[0].__dict__, "nationality": "portugal"})


@needs_softhsm
def test_a_token_key_that_only_signs_still_opens_the_sealed_list(softhsm_token: str) -> None:
    from appliance.identity.pkcs11_key import Pkcs11DeviceKey

    key = Pkcs11DeviceKey(MODULE, softhsm_token, key_label("day-list-key"), "123456")
    key.generate()
    payload = _listed().to_bytes()
    sealed = seal(key.public_key(), b"day-list|CLAIM-T|2026-11-23", payload)
    assert payload not in sealed
    assert unseal(key, b"day-list|CLAIM-T|2026-11-23", sealed) == payload  # ECDH on the token


FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(st.binary(max_size=4096))
def test_hostile_bytes_reach_only_the_parsers_errors(data: bytes) -> None:
    with pytest.raises(DayListInvalid):
        parse_day_list(b'{"format":"aima.day-list.v1",' + data)
    try:
        SignedDayList.from_bytes(data)
    except DayListInvalid:
        pass
    key = SoftwareDeviceKey(KEY)
    with pytest.raises(SealedFileError):
        unseal(key, b"day-list|CLAIM-T|2026-11-23", sealed_file.MAGIC + data)


@FUZZ
@given(st.integers(min_value=0, max_value=2000), st.integers(min_value=0, max_value=255))
def test_one_changed_byte_of_a_list_is_refused(position: int, xor: int) -> None:
    data = bytearray(_listed(2).to_bytes())
    position %= len(data)
    data[position] ^= xor or 1
    try:
        parsed = parse_day_list(bytes(data))
    except DayListInvalid:
        return
    # Rarely a change keeps valid canonical JSON (a letter in a name): then the signature,
    # which covers every byte, is what refuses it (tests/test_cases_kiosk.py).
    assert parsed != _listed(2)
