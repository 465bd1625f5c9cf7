"""Synthetic SPECIMEN identities and their MRZ, deterministic by seed.

No real person: names are random syllables, numbers random, the issuer a real
or ICAO special code (or the specimen state ``UTO``). :func:`write_mrz` builds
the lines of any format with correct check digits; :func:`tamper` changes one
character of a check-digit-protected field without fixing the check digit, the
way a forger or a bad reading would. Used by the tests, the bench and the
simulated document camera.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

from appliance.documents.mrz_parse import FILLER, GEOMETRY, char_value, check_digit

_SYLLABLES = (
    "BA BE BI BO DA DE DI DO FA FE KA KE KI LA LE LI LO MA ME MI MO NA NE NI NO RA RE RI RO SA "
    "SE SI SO TA TE TI TO VA VE VI ZA ZE ZU GU LU NU RU"
).split()
_ISSUERS = ("PRT", "UTO", "D", "BRA", "AGO", "CPV", "IND", "NPL", "UKR", "GBR", "FRA", "XXA")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class SpecimenIdentity:
    kind: str  # TD1, TD2, TD3, MRV-A, MRV-B
    document_code: str  # two characters, e.g. "P<", "ID", "IR", "V<"
    issuer: str
    document_number: str
    nationality: str
    birth_date: str  # YYMMDD
    sex: str  # M, F or <
    expiry_date: str  # YYMMDD
    surname: str
    given_names: str
    optional_data: str


def _name(rng: random.Random, parts: int) -> str:
    words = [
        "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(parts)
    ]
    return " ".join(words)


def _yymmdd(day: date) -> str:
    return day.strftime("%y%m%d")


def random_identity(
    rng: random.Random, kind: str, today: date, *, expired: bool = False
) -> SpecimenIdentity:
    """A synthetic identity; ``expired`` puts the expiry date in the past."""
    code = {"TD1": "I", "TD2": "I", "TD3": "P", "MRV-A": "V", "MRV-B": "V"}[kind]
    code += rng.choice({"I": "D<R", "P": "<<M", "V": "<<"}[code])
    birth = today - timedelta(days=rng.randint(18 * 365, 80 * 365))
    if expired:
        expiry = today - timedelta(days=rng.randint(1, 5 * 365))
    else:
        expiry = today + timedelta(days=rng.randint(30, 10 * 365))
    length = rng.choice((8, 9, 9, 9)) if kind not in ("TD1",) else 9
    number = "".join(rng.choice(_LETTERS[:8] + "0123456789" * 3) for _ in range(length))
    optional = ""
    if rng.random() < 0.5:
        optional = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 9)))
    return SpecimenIdentity(
        kind=kind,
        document_code=code,
        issuer=rng.choice(_ISSUERS),
        document_number=number,
        nationality=rng.choice(_ISSUERS),
        birth_date=_yymmdd(birth),
        sex=rng.choice("MFMF<"),
        expiry_date=_yymmdd(expiry),
        surname=_name(rng, rng.choice((1, 1, 2))),
        given_names=_name(rng, rng.choice((1, 2, 2, 3))),
        optional_data=optional,
    )


def _field(text: str, width: int) -> str:
    return text.replace(" ", FILLER)[:width].ljust(width, FILLER)


def _name_field(surname: str, given: str, width: int) -> str:
    text = surname.replace(" ", FILLER) + FILLER * 2 + given.replace(" ", FILLER)
    return text[:width].ljust(width, FILLER)


def write_mrz(identity: SpecimenIdentity) -> tuple[str, ...]:
    """The MRZ lines of ``identity`` with every check digit correct."""
    ident = identity
    issuer = _field(ident.issuer, 3)
    nat = _field(ident.nationality, 3)
    number = _field(ident.document_number, 9)
    number_cd = check_digit(number)
    birth = ident.birth_date + check_digit(ident.birth_date)
    expiry = ident.expiry_date + check_digit(ident.expiry_date)
    kind = ident.kind
    if kind == "TD1":
        line1 = ident.document_code + issuer + number + number_cd + _field(ident.optional_data, 15)
        head = birth + ident.sex + expiry + nat + _field("", 11)
        composite = check_digit(line1[5:30] + head[0:7] + head[8:15] + head[18:29])
        return line1, head + composite, _name_field(ident.surname, ident.given_names, 30)
    width = GEOMETRY["TD3" if kind in ("TD3", "MRV-A") else "TD2"][1]
    line1 = ident.document_code + issuer + _name_field(ident.surname, ident.given_names, width - 5)
    core = number + number_cd + nat + birth + ident.sex + expiry
    if kind == "TD3":
        personal = _field(ident.optional_data, 14)
        personal_cd = check_digit(personal) if ident.optional_data else FILLER
        body = core + personal + personal_cd
        return line1, body + check_digit(body[0:10] + body[13:20] + body[21:43])
    if kind == "TD2":
        body = core + _field(ident.optional_data, 7)
        return line1, body + check_digit(body[0:10] + body[13:20] + body[21:35])
    return line1, core + _field(ident.optional_data, width - 28)


def tamper(lines: tuple[str, ...], rng: random.Random) -> tuple[tuple[str, ...], str]:
    """Change one digit of the birth date, the expiry date or the document
    number, leaving the check digits as they were; returns the lines and the field.
    """
    kind = "TD1" if len(lines) == 3 else "TWO"
    spans = {
        "TD1": {"birth_date": (1, 0, 6), "expiry_date": (1, 8, 14), "document_number": (0, 5, 14)},
        "TWO": {
            "birth_date": (1, 13, 19),
            "expiry_date": (1, 21, 27),
            "document_number": (1, 0, 9),
        },
    }[kind]
    field = rng.choice(sorted(spans))
    row, start, end = spans[field]
    line = lines[row]
    pos = rng.choice([i for i in range(start, end) if line[i] != FILLER])
    # a change by a multiple of 10 (A -> 0) is the one the 7-3-1 check cannot see
    old = char_value(line[pos])
    new_digit = rng.choice([d for d in "0123456789" if (int(d) - old) % 10])
    changed = line[:pos] + new_digit + line[pos + 1 :]
    return tuple(changed if i == row else other for i, other in enumerate(lines)), field


def with_kind(identity: SpecimenIdentity, kind: str) -> SpecimenIdentity:
    return replace(identity, kind=kind)
