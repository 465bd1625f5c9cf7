"""Compare a parsed MRZ with the case: name, date of birth, nationality, number.

Names are compared after ICAO Doc 9303 part 3 section 6 transliteration of
the case's (national-script) name to the MRZ alphabet: Latin letters with
diacritics (Ä -> AE or A, Ñ -> N, Ø -> OE, ß -> SS, Þ -> TH ...), Cyrillic
and Greek by the ICAO tables, Arabic by the ICAO consonant table (vowels
are not written, so Arabic names are compared on their consonant skeleton).
Where ICAO allows two spellings (Ä as AE or A), both are accepted. Names in
the MRZ may be truncated at the field's end, so a case name that starts with
the MRZ name is a match.
"""

from __future__ import annotations

import itertools
import unicodedata
from dataclasses import dataclass
from datetime import date

from appliance.documents.mrz_parse import MrzRecord

#: Latin letters ICAO transliterates to more than their base letter; the first
#: spelling is ICAO's recommended one, the second the unaccented alternative.
LATIN: dict[str, tuple[str, ...]] = {
    "Ä": ("AE", "A"),
    "Å": ("AA", "A"),
    "Æ": ("AE",),
    "Ö": ("OE", "O"),
    "Ø": ("OE",),
    "Ü": ("UE", "U"),
    "ß": ("SS",),
    "Þ": ("TH",),
    "Ð": ("D",),
    "Œ": ("OE",),
    "Ĳ": ("IJ",),
    "Ł": ("L",),
    "Đ": ("D",),
    "Ħ": ("H",),
    "Ŀ": ("L",),
    "Ŋ": ("N",),
    "ı": ("I",),
}
CYRILLIC = dict(
    zip(
        "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯІЇЄҐЎЈЉЊЋЏЅЃЌ",
        [
            "A",
            "B",
            "V",
            "G",
            "D",
            "E",
            "E",
            "ZH",
            "Z",
            "I",
            "I",
            "K",
            "L",
            "M",
            "N",
            "O",
            "P",
            "R",
            "S",
            "T",
            "U",
            "F",
            "KH",
            "TS",
            "CH",
            "SH",
            "SHCH",
            "IE",
            "Y",
            "",
            "E",
            "IU",
            "IA",
            "I",
            "I",
            "IE",
            "G",
            "U",
            "J",
            "LJ",
            "NJ",
            "C",
            "DZ",
            "DZ",
            "G",
            "K",
        ],
        strict=True,
    )
)
GREEK = dict(
    zip(
        "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ",
        [
            "A",
            "V",
            "G",
            "D",
            "E",
            "Z",
            "I",
            "TH",
            "I",
            "K",
            "L",
            "M",
            "N",
            "X",
            "O",
            "P",
            "R",
            "S",
            "T",
            "Y",
            "F",
            "CH",
            "PS",
            "O",
        ],
        strict=True,
    )
)
ARABIC = {
    "ا": "",
    "أ": "",
    "إ": "",
    "آ": "A",
    "ء": "",
    "ب": "B",
    "ت": "T",
    "ث": "TH",
    "ج": "J",
    "ح": "H",
    "خ": "KH",
    "د": "D",
    "ذ": "TH",
    "ر": "R",
    "ز": "Z",
    "س": "S",
    "ش": "SH",
    "ص": "S",
    "ض": "D",
    "ط": "T",
    "ظ": "Z",
    "ع": "",
    "غ": "GH",
    "ف": "F",
    "ق": "Q",
    "ك": "K",
    "ل": "L",
    "م": "M",
    "ن": "N",
    "ه": "H",
    "ة": "H",
    "و": "W",
    "ي": "Y",
    "ى": "",
    "ئ": "",
    "ؤ": "",
}
MAX_NAME_CHARS = 200
MAX_SPELLINGS = 64


def _letter_options(char: str) -> tuple[str, ...]:
    upper = char.upper()
    if char in LATIN or upper in LATIN:
        return LATIN.get(char, LATIN.get(upper, ("",)))
    plain = unicodedata.normalize("NFD", upper)[:1]
    for table in (CYRILLIC, GREEK):
        if upper in table or plain in table:
            return (table.get(upper, table.get(plain, "")),)
    if char in ARABIC:
        return (ARABIC[char],)
    base = unicodedata.normalize("NFKD", upper)
    base = "".join(c for c in base if "A" <= c <= "Z")
    if base:
        return (base,)
    return (" ",) if not char.isalnum() else ("",)


def spellings(name: str) -> set[str]:
    """Every MRZ spelling of ``name`` ICAO allows (spaces, hyphens and
    apostrophes become one space; other punctuation disappears)."""
    name = unicodedata.normalize("NFC", name.strip())[:MAX_NAME_CHARS]
    options = [_letter_options(c) if c not in "-' ,." else (" ",) for c in name]
    found: set[str] = set()
    for combo in itertools.islice(itertools.product(*options), MAX_SPELLINGS):
        found.add(" ".join("".join(combo).split()))
    return found


def names_match(mrz_name: str, case_name: str) -> bool:
    """True when some ICAO spelling of the case name equals the MRZ name, or
    starts with it (the MRZ truncates long names) -- or, for names written
    without vowels (Arabic), when the consonants agree."""
    if not mrz_name and not case_name.strip():
        return True
    target = " ".join(mrz_name.split())
    for spelling in spellings(case_name):
        if spelling == target or (len(target) >= 10 and spelling.startswith(target)):
            return True
        if any("\u0600" <= c <= "\u06ff" for c in case_name) and _skeleton(spelling) == _skeleton(
            target
        ):
            return True
    return False


def _skeleton(text: str) -> str:
    consonants = [c for c in text if c not in "AEIOUY "]
    return "".join(c for i, c in enumerate(consonants) if i == 0 or c != consonants[i - 1])


@dataclass(frozen=True)
class Mismatch:
    field: str  # surname, given_names, birth_date, nationality, document_number
    mrz: str
    case: str


@dataclass(frozen=True, kw_only=True)
class CaseData:
    """What the case holds about the applicant; None where it holds nothing."""

    surname: str | None = None
    given_names: str | None = None
    #: The whole name when the case does not split it (either order is accepted).
    full_name: str | None = None
    birth_date: date | None = None
    nationality: str | None = None  # ICAO code, e.g. "BRA"; "D" for Germany
    document_number: str | None = None


def compare(record: MrzRecord, case: CaseData) -> list[Mismatch]:
    """Typed mismatches between the MRZ and the case (empty when they agree)."""
    found: list[Mismatch] = []
    if case.surname is not None and not names_match(record.surname, case.surname):
        found.append(Mismatch("surname", record.surname, case.surname))
    if case.given_names is not None and not names_match(record.given_names, case.given_names):
        found.append(Mismatch("given_names", record.given_names, case.given_names))
    if case.full_name is not None and not _full_name_matches(record, case.full_name):
        found.append(
            Mismatch("name", f"{record.given_names} {record.surname}".strip(), case.full_name)
        )
    if case.birth_date is not None and record.birth != case.birth_date:
        found.append(Mismatch("birth_date", record.birth_date, case.birth_date.isoformat()))
    if case.nationality is not None and record.nationality != case.nationality.strip().upper():
        found.append(Mismatch("nationality", record.nationality, case.nationality))
    if case.document_number is not None:
        wanted = "".join(case.document_number.upper().split()).replace("-", "")
        if record.document_number != wanted:
            found.append(Mismatch("document_number", record.document_number, case.document_number))
    return found


def _full_name_matches(record: MrzRecord, full_name: str) -> bool:
    """The case's whole name against the MRZ's surname and given names.

    The case does not say which of its words is the surname, so the MRZ surname
    may stand at its end or at its start; the given names are the other words.
    When the MRZ's name zone is full (no filler left at its end), it was cut to
    fit, and the given names only need to begin the case's remaining words.
    """
    surname = record.surname.split()
    given = " ".join(record.given_names.split())
    truncated = _name_zone_full(record)
    for spelling in spellings(full_name):
        words = spelling.split()
        k = len(surname)
        if not k or k > len(words):
            continue
        for rest, ends in ((words[:-k], words[-k:]), (words[k:], words[:k])):
            if ends != surname:
                continue
            others = " ".join(rest)
            if others == given or (truncated and given and others.startswith(given)):
                return True
    return False


def _name_zone_full(record: MrzRecord) -> bool:
    """True when the MRZ's name zone has no filler at its end (the name was truncated)."""
    zone = record.lines[-1] if record.format == "TD1" else record.lines[0][5:]
    return bool(zone) and not zone.endswith("<")
