"""A case's whole name against the MRZ's surname and given names (ICAO 9303 part 3)."""

from __future__ import annotations

from datetime import date

from appliance.documents.mrz_compare import CaseData, compare
from appliance.documents.mrz_parse import parse
from appliance.documents.presented import specimen_identity
from appliance.documents.specimen_data import write_mrz


def _record(full_name: str, kind: str = "residence_permit"):  # type: ignore[no-untyped-def]
    identity = specimen_identity(full_name, "1980-02-03", "BRA", "SYN123456", kind=kind)
    return parse(write_mrz(identity), date(2026, 12, 1))


def test_a_name_cut_to_fit_the_zone_matches_its_case() -> None:
    record = _record("Farid Simulado Amostra Sintético")  # TD1: 30 characters, truncated
    assert record.given_names.endswith("AMOS")
    assert compare(record, CaseData(full_name="Farid Simulado Amostra Sintético")) == []


def test_surname_first_or_last_and_transliteration() -> None:
    record = _record("Zoë Müller", kind="passport")
    assert record.surname == "MUELLER" or record.surname == "MULLER"
    assert compare(record, CaseData(full_name="Zoë Müller")) == []
    assert compare(record, CaseData(full_name="Müller Zoë")) == []


def test_another_name_or_a_prefix_that_was_not_cut_does_not_match() -> None:
    record = _record("Ana Silva", kind="passport")
    assert [m.field for m in compare(record, CaseData(full_name="Ana Silvestre"))] == ["name"]
    assert [m.field for m in compare(record, CaseData(full_name="Anabela Silva"))] == ["name"]
    assert compare(record, CaseData(full_name="Ana Silva", nationality="PRT"))[0].field == (
        "nationality"
    )
