"""The MRZ reader on generated SPECIMEN photos, the type-aware repair, the
``doc-check`` CLI contract, model verification and case comparison."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest

from appliance.documents import mrz_models
from appliance.documents.mrz_compare import CaseData, compare, names_match
from appliance.documents.mrz_ocr import ALPHABET, LineReading, place, repair
from appliance.documents.mrz_parse import parse
from appliance.documents.specimen_data import SpecimenIdentity, write_mrz
from appliance.documents.specimen_photo import OCR_B_FONT
from appliance.face.models import ModelError

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 12, 1)

needs_models = pytest.mark.skipif(
    any(v != "ok" for v in mrz_models.verify().values()), reason="run 'appliance models fetch'"
)
needs_font = pytest.mark.skipif(not OCR_B_FONT.is_file(), reason="Debian's fonts-ocr-b is missing")


def _reading(text: str, confident: float = 0.9) -> LineReading:
    """A synthetic recogniser output: each character peaks on its own column."""
    probs = np.zeros((len(text) * 2 + 2, len(ALPHABET) + 1), np.float32)
    probs[:, 0] = 1.0
    for i, char in enumerate(text):
        column = 2 * i + 1
        probs[column, 0] = 0.0
        probs[column, 1 + ALPHABET.index(char)] = confident
    return LineReading(text, tuple(2 * i + 1 for i in range(len(text))), probs)


def test_repair_only_where_the_type_allows() -> None:
    line = "L898902C36UT07408I22F12O4159ZE184226B<<<<<10"
    reading = _reading(line)
    placed = place(reading, 44)
    assert placed is not None
    fixed = repair(
        reading, placed, "X" * 9 + "N" + "AAA" + "N" * 7 + "S" + "N" * 7 + "X" * 14 + "NN"
    )
    # the 0 in the nationality becomes O, the I in the birth date 1, the O in the expiry 0
    assert fixed.text == "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
    # document number and optional data (type X) are never touched
    alnum = _reading("L8989O2C36UTO7408122F1204159ZE18422GB<<<<<10")
    placed = place(alnum, 44)
    assert placed is not None
    kept = repair(alnum, placed, "X" * 9 + "N" + "AAA" + "N" * 7 + "S" + "N" * 7 + "X" * 14 + "NN")
    assert kept.text.startswith("L8989O2C3") and "18422GB" in kept.text
    assert parse(("P<UTOERIKSSON<<ANNA<MARIA" + "<" * 19, kept.text), TODAY).failed_checks


def test_place_fills_a_dropped_filler_from_its_column() -> None:
    full = "P<UTOERIKSSON<<ANNA<MARIA" + "<" * 19
    reading = _reading(full)
    # drop one filler from the decoded text, as CTC does in a long run
    dropped = LineReading(
        full[:30] + full[31:], reading.peaks[:30] + reading.peaks[31:], reading.probs
    )
    placed = place(dropped, 44)
    assert placed is not None and placed.text == full and placed.filled == (30,)


def test_verify_models_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="appliance models fetch"):
        mrz_models.verify_models(tmp_path)
    assert set(mrz_models.verify(tmp_path).values()) == {"missing"}


def test_case_comparison_transliterates() -> None:
    identity = SpecimenIdentity(
        "TD3",
        "P<",
        "UTO",
        "L898902C3",
        "UTO",
        "740812",
        "M",
        "320415",
        "MUELLER",
        "SOEREN PENA",
        "",
    )
    record = parse(write_mrz(identity), TODAY)
    assert record.failed_checks == ()
    case = CaseData(
        surname="Müller",
        given_names="Søren Peña",
        birth_date=date(1974, 8, 12),
        nationality="UTO",
        document_number="L898902C3",
    )
    assert compare(record, case) == []
    wrong = CaseData(
        surname="Mueller",
        given_names="Soren",
        birth_date=date(1974, 8, 13),
        nationality="PRT",
        document_number="L898902C4",
    )
    fields = [m.field for m in compare(record, wrong)]
    assert fields == ["given_names", "birth_date", "nationality", "document_number"]
    assert names_match("IVANOVA", "Иванова")
    assert names_match("MOHAMMED", "محمد")
    assert not names_match("PETROVA", "Иванова")


@pytest.fixture(scope="module")
def reader():  # type: ignore[no-untyped-def]
    from appliance.documents.mrz_reader import MrzReader

    return MrzReader()


@pytest.fixture(scope="module")
def specimens():  # type: ignore[no-untyped-def]
    from appliance.documents.specimen_set import generate

    counts = {"readable": 10, "expired": 1, "tampered": 3, "unreadable": 2}
    return list(generate(18, counts, TODAY))


@needs_models
@needs_font
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_generated_set(reader, specimens) -> None:  # type: ignore[no-untyped-def]
    readable = [c for c in specimens if c.category in ("readable", "expired")]
    exact = 0
    for case in specimens:
        result = reader.read(case.image, TODAY)
        if case.category in ("tampered", "unreadable"):
            assert result.verdict != "valid", case.name  # never a false valid
        if case.category == "tampered":
            assert result.verdict in ("check_digit", "unreadable"), case.name
        if case.category in ("readable", "expired") and result.record is not None:
            exact += result.record.lines == case.lines and result.verdict != "unreadable"
    assert exact / len(readable) >= 0.98


class _Spy:
    """The reader, noting the height of every image it is given."""

    def __init__(self, reader) -> None:  # type: ignore[no-untyped-def]
        self.reader, self.heights = reader, []

    def read(self, image, today=None):  # type: ignore[no-untyped-def]
        self.heights.append(image.shape[0])
        return self.reader.read(image, today)


@needs_models
@needs_font
@pytest.mark.timeout(600)
def test_a_straightened_document_is_read_in_its_lower_half_first(reader, specimens) -> None:  # type: ignore[no-untyped-def]
    from appliance.capture.documents import read_document_mrz
    from appliance.documents.perspective import RectifiedDocument, rectify

    checked = 0
    for case in [c for c in specimens if c.category == "readable"][:4]:
        straight = rectify(case.image)
        if not straight.corrected:
            continue
        spy = _Spy(reader)
        result = read_document_mrz(spy, straight)  # type: ignore[arg-type]
        whole = reader.read(straight.image)
        height = straight.image.shape[0]
        assert spy.heights == [height - height // 2]  # the lower half only
        assert result.record is not None and whole.record is not None
        assert result.record.lines == whole.record.lines == case.lines, case.name
        # The band is given in the whole image's coordinates.
        assert np.allclose(result.band, whole.band, atol=6), (result.band, whole.band)
        # Upside down, the lower half holds no MRZ: the whole image is read after it.
        turned = RectifiedDocument(cv2.rotate(straight.image, cv2.ROTATE_180), True, None, None)
        spy.heights.clear()
        read_document_mrz(spy, turned)  # type: ignore[arg-type]
        assert spy.heights == [height - height // 2, height]
        checked += 1
    assert checked >= 2


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@needs_models
@needs_font
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_doc_check_contract(tmp_path: Path, specimens) -> None:  # type: ignore[no-untyped-def]
    good = next(c for c in specimens if c.category == "readable")
    tampered = next(c for c in specimens if c.category == "tampered")
    cv2.imwrite(str(tmp_path / "good.png"), good.image)
    cv2.imwrite(str(tmp_path / "tampered.jpg"), tampered.image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "bomb.png").write_bytes(_png_header_only(20000, 20000))
    (tmp_path / "dir").mkdir()
    files = ["good.png", "tampered.jpg", "missing.png", "text.png", "bomb.png", "dir"]
    command = [
        sys.executable,
        "-m",
        "appliance",
        "doc-check",
        *files,
        "--json",
        "--today",
        TODAY.isoformat(),
    ]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["file"] for r in rows] == files
    first = rows[0]
    assert first["verdict"] == "valid" and first["failed_checks"] == []
    mrz = first["mrz"]
    assert set(mrz) == {
        "format",
        "lines",
        "document_type",
        "issuer",
        "document_number",
        "nationality",
        "birth_date",
        "sex",
        "expiry_date",
        "surname",
        "given_names",
        "optional_data",
    }
    assert mrz["lines"] == list(good.lines) and mrz["format"] == "TD1"
    assert all("<" not in str(v) for k, v in mrz.items() if k != "lines")
    assert rows[1]["verdict"] in ("check_digit", "unreadable")
    for bad in rows[2:]:
        assert "error" in bad and bad["verdict"] == "unreadable" and bad["mrz"] is None
    assert "too large" in rows[4]["error"] and rows[4]["ms"] < 1000
    assert isinstance(first["ms"], float)
    only_good = subprocess.run(
        [*command[:4], "good.png", "--json", "--today", TODAY.isoformat()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert only_good.returncode == 0
    usage = subprocess.run(
        [*command[:4], "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert usage.returncode == 2


@needs_models
@needs_font
def test_guidance_hints(specimens) -> None:  # type: ignore[no-untyped-def]
    from appliance.documents.mrz_guidance import MrzGuidance
    from appliance.documents.mrz_locate import TextDetector

    detector = TextDetector(mrz_models.model_path(mrz_models.DETECTOR))
    guidance = MrzGuidance(detector)
    blank = np.full((480, 640, 3), 90, np.uint8)
    assert guidance.analyse(blank).prompts == ("doc.no_mrz",)
    photo = next(c for c in specimens if c.category == "readable" and not c.conditions.band_only)
    hints = guidance.analyse(photo.image)
    assert "doc.no_mrz" not in hints.prompts and len(hints.band) == 4
    small = cv2.resize(photo.image, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    assert set(guidance.analyse(small).prompts) & {"doc.move_closer", "doc.no_mrz"}
