"""Parse and validate a machine-readable zone (ICAO Doc 9303 parts 3-7).

Formats, told apart by geometry and the document code:

- TD1, 3 x 30 (ID cards, residence permits; part 5);
- TD2, 2 x 36 (part 6) and MRV-B, the visa with TD2 geometry (part 7);
- TD3, 2 x 44 (passports; part 4) and MRV-A, the visa with TD3 geometry.

Every field is extracted with its fillers removed; every check digit (per
field and composite) is verified with the 7-3-1 weights; two-digit years are
resolved to a century (a birth date is never in the future, an expiry date
lies within 50 years of today); the expiry is compared with today's date and
the issuing state and nationality with ICAO's code list. The parser never
repairs a character: that is the OCR's job, restricted to what the position's
type allows (see :data:`POSITION_TYPES`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from appliance.documents.icao_codes import SPECIMEN_CODES, is_known_code

FILLER = "<"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
#: geometry -> (lines, characters per line)
GEOMETRY = {"TD1": (3, 30), "TD2": (2, 36), "TD3": (2, 44)}
MAX_INPUT_CHARS = 200  # three lines of 44 and their separators, with room to spare

# Position types, one letter per character: A = letter or filler, N = digit or
# filler, S = sex (M, F, X or filler), X = any MRZ character (never repaired).
_TD1 = (
    "AA" + "AAA" + "X" * 9 + "N" + "X" * 15,
    "N" * 7 + "S" + "N" * 7 + "AAA" + "X" * 11 + "N",
    "A" * 30,
)
_TD2_L1 = "AA" + "AAA" + "A" * 31
_TD3_L1 = "AA" + "AAA" + "A" * 39
POSITION_TYPES: dict[str, tuple[str, ...]] = {
    "TD1": _TD1,
    "TD2": (_TD2_L1, "X" * 9 + "N" + "AAA" + "N" * 7 + "S" + "N" * 7 + "X" * 7 + "N"),
    "MRV-B": (_TD2_L1, "X" * 9 + "N" + "AAA" + "N" * 7 + "S" + "N" * 7 + "X" * 8),
    "TD3": (_TD3_L1, "X" * 9 + "N" + "AAA" + "N" * 7 + "S" + "N" * 7 + "X" * 14 + "NN"),
    "MRV-A": (_TD3_L1, "X" * 9 + "N" + "AAA" + "N" * 7 + "S" + "N" * 7 + "X" * 16),
}
_LINE_RE = re.compile(r"^[A-Z0-9<]+$")


class MrzFormatError(ValueError):
    """The text is not a machine-readable zone of a known geometry."""


def char_value(char: str) -> int:
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == FILLER:
        return 0
    raise MrzFormatError(f"character {char!r} is outside the MRZ alphabet")


def check_digit(data: str) -> str:
    """ICAO 9303 part 3, 4.9: weights 7, 3, 1 repeated, sum modulo 10."""
    weights = (7, 3, 1)
    return str(sum(char_value(c) * weights[i % 3] for i, c in enumerate(data)) % 10)


def kind_of(lines: tuple[str, ...]) -> str:
    """TD1, TD2, TD3, MRV-A or MRV-B from the geometry and the document code."""
    shape = (len(lines), len(lines[0]) if lines else 0)
    for name, geometry in GEOMETRY.items():
        if shape == geometry and all(len(line) == geometry[1] for line in lines):
            visa = lines[0].startswith("V")
            if name == "TD3" and visa:
                return "MRV-A"
            if name == "TD2" and visa:
                return "MRV-B"
            return name
    raise MrzFormatError(
        f"{shape[0]} lines of {shape[1]}: not TD1 (3x30), TD2 (2x36) or TD3 (2x44)"
    )


def geometry_of(kind: str) -> str:
    return {"MRV-A": "TD3", "MRV-B": "TD2"}.get(kind, kind)


def clean(field: str) -> str:
    """A field without fillers; inner filler runs become one space."""
    return " ".join(part for part in field.split(FILLER) if part)


def split_name(field: str) -> tuple[str, str]:
    """Primary and secondary identifiers: ``<<`` separates them, ``<`` the name parts."""
    primary, _, secondary = field.partition(FILLER * 2)
    return clean(primary), clean(secondary)


def resolve_birth_date(yymmdd: str, today: date) -> date | None:
    """The most recent date with these digits that is not in the future."""
    parsed = _date_parts(yymmdd)
    if parsed is None:
        return None
    yy, month, day = parsed
    for century in (today.year // 100 * 100, today.year // 100 * 100 - 100):
        candidate = _safe_date(century + yy, month, day)
        if candidate is None:
            return None
        if candidate <= today:
            return candidate
    return None


def resolve_expiry_date(yymmdd: str, today: date) -> date | None:
    """The date with these digits within 50 years either side of today."""
    parsed = _date_parts(yymmdd)
    if parsed is None:
        return None
    yy, month, day = parsed
    year = today.year // 100 * 100 + yy
    if year > today.year + 50:
        year -= 100
    elif year <= today.year - 50:
        year += 100
    return _safe_date(year, month, day)


def _date_parts(yymmdd: str) -> tuple[int, int, int] | None:
    if len(yymmdd) != 6 or not yymmdd.isdigit():
        return None
    return int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True)
class MrzRecord:
    """One parsed MRZ. Field values carry no fillers; dates stay YYMMDD."""

    kind: str  # TD1, TD2, TD3, MRV-A, MRV-B
    lines: tuple[str, ...]
    document_type: str
    issuer: str
    document_number: str
    nationality: str
    birth_date: str
    sex: str
    expiry_date: str
    surname: str
    given_names: str
    optional_data: str
    failed_checks: tuple[str, ...]
    birth: date | None
    expiry: date | None
    problems: tuple[str, ...]  # unknown codes, impossible dates, bad sex (not check digits)

    @property
    def format(self) -> str:
        """The geometry (TD1, TD2, TD3): an MRV-A visa is TD3, an MRV-B visa TD2."""
        return geometry_of(self.kind)

    @property
    def specimen(self) -> bool:
        return self.issuer in SPECIMEN_CODES

    def expired(self, today: date) -> bool:
        return self.expiry is not None and self.expiry < today

    def verdict(self, today: date) -> str:
        if self.failed_checks:
            return "check_digit"
        if self.expired(today):
            return "expired"
        return "valid"

    def fields_json(self) -> dict[str, Any]:
        """The ``mrz`` object of the ``doc-check`` contract."""
        return {
            "format": self.format,
            "lines": list(self.lines),
            "document_type": self.document_type,
            "issuer": self.issuer,
            "document_number": self.document_number,
            "nationality": self.nationality,
            "birth_date": self.birth_date,
            "sex": self.sex,
            "expiry_date": self.expiry_date,
            "surname": self.surname,
            "given_names": self.given_names,
            "optional_data": self.optional_data,
        }


def split_lines(text: str) -> tuple[str, ...]:
    """Lines of an MRZ given as one string (newline separated) or a list joined."""
    if len(text) > MAX_INPUT_CHARS:
        raise MrzFormatError(f"more than {MAX_INPUT_CHARS} characters")
    lines = tuple(line.strip() for line in text.strip().splitlines() if line.strip())
    for line in lines:
        if not _LINE_RE.match(line):
            raise MrzFormatError("a line holds characters outside A-Z, 0-9 and <")
    return lines


def parse(lines: tuple[str, ...] | list[str] | str, today: date | None = None) -> MrzRecord:
    """Parse and validate; raises :class:`MrzFormatError` for an impossible shape."""
    today = today or date.today()
    rows = split_lines(lines) if isinstance(lines, str) else tuple(lines)
    if len(rows) > 3 or any(len(row) > 44 or not _LINE_RE.match(row) for row in rows):
        raise MrzFormatError("not an MRZ: at most 3 lines of at most 44 characters A-Z, 0-9, <")
    kind = kind_of(rows)
    return _parse_td1(rows, today) if kind == "TD1" else _parse_two_line(rows, kind, today)


class _Checks:
    def __init__(self) -> None:
        self.failed: list[str] = []

    def digit(self, name: str, data: str, digit: str, filler_ok: bool = False) -> None:
        if filler_ok and digit == FILLER and set(data) <= {FILLER}:
            return
        if digit != check_digit(data):
            self.failed.append(name)


def _long_number(principal: str, digit: str, optional: str) -> tuple[str, str, str]:
    """Document number, its check digit and the rest of the optional data.

    A number longer than 9 characters puts a filler in the check-digit position
    and continues in the optional data, followed by its check digit and a filler
    (part 5 note j, part 6 note j).
    """
    if digit != FILLER or not optional or optional[0] == FILLER:
        return principal, digit, optional
    end = optional.find(FILLER)
    end = len(optional) if end < 0 else end
    overflow, check = optional[: end - 1], optional[end - 1]
    return principal + overflow, check, optional[end + 1 :]


def _common(
    kind: str,
    rows: tuple[str, ...],
    today: date,
    parts: dict[str, str],
    checks: _Checks,
) -> MrzRecord:
    problems: list[str] = []
    for field in ("issuer", "nationality"):
        code = clean(parts[field])
        if not is_known_code(code):
            problems.append(f"{field}_code")
    birth = resolve_birth_date(parts["birth"], today)
    expiry = resolve_expiry_date(parts["expiry"], today)
    if birth is None and FILLER not in parts["birth"]:
        problems.append("birth_date_value")
    if expiry is None:
        problems.append("expiry_date_value")
    if parts["sex"] not in ("M", "F", "X", FILLER):
        problems.append("sex_value")
    if rows[0][0] not in "ACIPV":
        problems.append("document_code")
    surname, given = split_name(parts["name"])
    return MrzRecord(
        kind=kind,
        lines=rows,
        document_type=clean(rows[0][0:2]),
        issuer=clean(parts["issuer"]),
        document_number=clean(parts["number"]),
        nationality=clean(parts["nationality"]),
        birth_date=parts["birth"],
        sex=clean(parts["sex"]),
        expiry_date=parts["expiry"],
        surname=surname,
        given_names=given,
        optional_data=parts["optional"],
        failed_checks=tuple(checks.failed),
        birth=birth,
        expiry=expiry,
        problems=tuple(problems),
    )


def _parse_td1(rows: tuple[str, ...], today: date) -> MrzRecord:
    l1, l2, l3 = rows
    checks = _Checks()
    number, number_digit, optional1 = _long_number(l1[5:14], l1[14], l1[15:30])
    checks.digit("document_number", number, number_digit)
    checks.digit("birth_date", l2[0:6], l2[6])
    checks.digit("expiry_date", l2[8:14], l2[14])
    checks.digit("composite", l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29])
    optional = " ".join(part for part in (clean(optional1), clean(l2[18:29])) if part)
    parts = {
        "issuer": l1[2:5],
        "number": number,
        "nationality": l2[15:18],
        "birth": l2[0:6],
        "sex": l2[7],
        "expiry": l2[8:14],
        "name": l3,
        "optional": optional,
    }
    return _common("TD1", rows, today, parts, checks)


def _parse_two_line(rows: tuple[str, ...], kind: str, today: date) -> MrzRecord:
    l1, l2 = rows
    checks = _Checks()
    width = len(l2)
    if kind == "TD3":
        number, number_digit, optional = l2[0:9], l2[9], l2[28:42]
        checks.digit("document_number", number, number_digit)
    elif kind == "TD2":
        number, number_digit, optional = _long_number(l2[0:9], l2[9], l2[28:35])
        checks.digit("document_number", number, number_digit)
    else:  # visas: no composite, no long numbers
        number, optional = l2[0:9], l2[28:width]
        checks.digit("document_number", number, l2[9])
    checks.digit("birth_date", l2[13:19], l2[19])
    checks.digit("expiry_date", l2[21:27], l2[27])
    if kind == "TD3":
        checks.digit("optional_data", l2[28:42], l2[42], filler_ok=True)
        checks.digit("composite", l2[0:10] + l2[13:20] + l2[21:43], l2[43])
    elif kind == "TD2":
        checks.digit("composite", l2[0:10] + l2[13:20] + l2[21:35], l2[35])
    parts = {
        "issuer": l1[2:5],
        "number": number,
        "nationality": l2[10:13],
        "birth": l2[13:19],
        "sex": l2[20],
        "expiry": l2[21:27],
        "name": l1[5:],
        "optional": clean(optional),
    }
    return _common(kind, rows, today, parts, checks)
