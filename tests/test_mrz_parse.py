"""MRZ parsing and validation (ICAO 9303), cross-checked with the ``mrz`` package."""

from __future__ import annotations

import random
from datetime import date

import pytest
from mrz.checker.td1 import TD1CodeChecker
from mrz.checker.td2 import TD2CodeChecker
from mrz.checker.td3 import TD3CodeChecker

from appliance.documents.icao_codes import is_known_code
from appliance.documents.mrz_parse import (
    MrzFormatError,
    check_digit,
    parse,
    resolve_birth_date,
    resolve_expiry_date,
)
from appliance.documents.specimen_data import random_identity, tamper, write_mrz

TODAY = date(2026, 6, 1)
TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)
TD2 = ("I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6")
TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
MRVA = (
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
)
MRVB = ("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<")


def test_check_digit_icao_examples() -> None:
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("<<<<<<<<<<<<<<") == "0"


@pytest.mark.parametrize(
    ("lines", "kind", "geometry"),
    [
        (TD1, "TD1", "TD1"),
        (TD2, "TD2", "TD2"),
        (TD3, "TD3", "TD3"),
        (MRVA, "MRV-A", "TD3"),
        (MRVB, "MRV-B", "TD2"),
    ],
)
def test_icao_specimens_parse(lines: tuple[str, ...], kind: str, geometry: str) -> None:
    record = parse(lines, date(1995, 1, 1))
    assert record.kind == kind and record.format == geometry
    assert record.failed_checks == ()
    assert record.surname == "ERIKSSON" and record.given_names == "ANNA MARIA"
    assert record.verdict(date(1995, 1, 1)) == "valid"
    assert record.specimen
    fields = record.fields_json()
    assert all("<" not in str(v) for k, v in fields.items() if k != "lines")


def test_td3_fields() -> None:
    record = parse(TD3, TODAY)
    assert record.document_number == "L898902C3"
    assert record.optional_data == "ZE184226B"
    assert record.birth == date(1974, 8, 12)
    assert record.expiry == date(2012, 4, 15)
    assert record.verdict(TODAY) == "expired"


@pytest.mark.parametrize(
    ("lines", "row", "pos", "check"),
    [
        (TD3, 1, 9, "document_number"),
        (TD3, 1, 19, "birth_date"),
        (TD3, 1, 27, "expiry_date"),
        (TD3, 1, 42, "optional_data"),
        (TD3, 1, 43, "composite"),
        (TD1, 0, 14, "document_number"),
        (TD1, 1, 6, "birth_date"),
        (TD1, 1, 14, "expiry_date"),
        (TD1, 1, 29, "composite"),
        (TD2, 1, 35, "composite"),
        (MRVB, 1, 19, "birth_date"),
    ],
)
def test_each_check_digit(lines: tuple[str, ...], row: int, pos: int, check: str) -> None:
    line = lines[row]
    wrong = str((int(line[pos]) + 1) % 10) if line[pos].isdigit() else "1"
    changed = tuple(
        line[:pos] + wrong + line[pos + 1 :] if i == row else x for i, x in enumerate(lines)
    )
    record = parse(changed, date(2010, 1, 1))
    assert check in record.failed_checks
    assert record.verdict(date(2010, 1, 1)) == "check_digit"


def test_td1_long_document_number() -> None:
    number = "D23145890AB"
    optional = number[9:] + check_digit(number) + "<"
    line1 = ("I<UTO" + number[:9] + "<" + optional).ljust(30, "<")
    line2 = "7408122F1204159UTO<<<<<<<<<<<"
    line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    record = parse((line1, line2, TD1[2]), date(2010, 1, 1))
    assert record.document_number == number
    assert record.failed_checks == ()


def test_century_resolution() -> None:
    assert resolve_birth_date("740812", TODAY) == date(1974, 8, 12)
    assert resolve_birth_date("250101", TODAY) == date(2025, 1, 1)
    assert resolve_birth_date("270101", TODAY) == date(1927, 1, 1)  # never in the future
    assert resolve_expiry_date("350101", TODAY) == date(2035, 1, 1)
    assert resolve_expiry_date("990101", TODAY) == date(1999, 1, 1)
    assert resolve_birth_date("741332", TODAY) is None


def test_expiry_is_inclusive() -> None:
    record = parse(TD3, date(2012, 4, 15))
    assert record.verdict(date(2012, 4, 15)) == "valid"
    assert record.verdict(date(2012, 4, 16)) == "expired"


def test_country_codes() -> None:
    for code in (
        "PRT",
        "D",
        "GBD",
        "GBN",
        "GBO",
        "GBP",
        "GBS",
        "UNO",
        "UNA",
        "UNK",
        "XXA",
        "XXB",
        "XXC",
        "XXX",
        "EUE",
        "RKS",
        "UTO",
    ):
        assert is_known_code(code), code
    assert not is_known_code("ZZZ")
    bad = (TD3[0][:2] + "ZZZ" + TD3[0][5:], TD3[1])
    assert "issuer_code" in parse(bad, TODAY).problems


def test_germany_single_letter_code() -> None:
    lines = ("P<D<<" + TD3[0][5:], TD3[1][:10] + "D<<" + TD3[1][13:])
    record = parse(lines, date(2010, 1, 1))
    assert record.issuer == "D" and record.nationality == "D"
    assert record.problems == ()


def test_fillers_and_names() -> None:
    lines = ("P<UTODE<LA<CRUZ<<MARIA<<<<<<<<<<<<<<<<<<<<<<"[:44], TD3[1])
    record = parse(lines, date(2010, 1, 1))
    assert record.surname == "DE LA CRUZ"
    assert record.given_names == "MARIA"
    assert (
        parse(
            ("P<UTOERIKSSON<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", TD3[1]), date(2010, 1, 1)
        ).given_names
        == ""
    )


def test_bad_shapes_refused() -> None:
    with pytest.raises(MrzFormatError):
        parse(("P<UTO", "L898"))
    with pytest.raises(MrzFormatError):
        parse(("p<uto" + "<" * 39, TD3[1]))
    with pytest.raises(MrzFormatError):
        parse("X" * 500)


@pytest.mark.parametrize("kind", ["TD1", "TD2", "TD3"])
def test_cross_check_with_mrz_package(kind: str) -> None:
    checker = {"TD1": TD1CodeChecker, "TD2": TD2CodeChecker, "TD3": TD3CodeChecker}[kind]
    rng = random.Random(7)
    for _ in range(40):
        identity = random_identity(rng, kind, TODAY)
        lines = write_mrz(identity)
        ours = parse(lines, TODAY)
        theirs = checker("\n".join(lines), check_expiry=False, compute_warnings=False)
        assert bool(theirs) and ours.failed_checks == ()
        fields = theirs.fields()
        assert fields.document_number == ours.document_number
        assert fields.birth_date == ours.birth_date and fields.expiry_date == ours.expiry_date
        assert fields.surname == ours.surname and fields.name == ours.given_names
        bad, _field = tamper(lines, rng)
        assert not bool(checker("\n".join(bad), check_expiry=False, compute_warnings=False))
        assert parse(bad, TODAY).failed_checks
