"""The chip's access key input: document number, date of birth and expiry.

These three MRZ fields, each followed by its ICAO check digit, are the whole
secret behind BAC and PACE-with-MRZ (ICAO 9303-11 §4.3 and §9.7). The MRZ
reader (optical) hands them over as plain strings; :func:`MrzKeyInput.from_mrz`
also takes a whole MRZ (TD1, TD2 or TD3) for the CLI.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_WEIGHTS = (7, 3, 1)
_DATE = re.compile(r"^\d{6}$")
_NUMBER = re.compile(r"^[0-9A-Z<]{1,22}$")


def check_digit(field: str) -> str:
    """ICAO 9303-3 §4.9 check digit: digits as is, A=10..Z=35, '<' = 0, weights 7-3-1."""
    total = 0
    for i, char in enumerate(field):
        if char.isdigit():
            value = int(char)
        elif "A" <= char <= "Z":
            value = ord(char) - 55
        elif char == "<":
            value = 0
        else:
            raise ValueError(f"character {char!r} is not allowed in an MRZ field")
        total += value * _WEIGHTS[i % 3]
    return str(total % 10)


@dataclass(frozen=True)
class MrzKeyInput:
    """The MRZ fields that open the chip. Dates are YYMMDD."""

    document_number: str
    date_of_birth: str
    date_of_expiry: str

    def __post_init__(self) -> None:
        number = self.document_number.upper()
        if not _NUMBER.match(number):
            raise ValueError("document number must be 1-22 characters of 0-9, A-Z or '<'")
        for name in ("date_of_birth", "date_of_expiry"):
            if not _DATE.match(getattr(self, name)):
                raise ValueError(f"{name} must be YYMMDD")
        object.__setattr__(self, "document_number", number)

    @property
    def mrz_information(self) -> str:
        """Document number (padded to 9), birth and expiry, each with its check digit."""
        number = self.document_number.ljust(9, "<")
        return (
            number
            + check_digit(number)
            + self.date_of_birth
            + check_digit(self.date_of_birth)
            + self.date_of_expiry
            + check_digit(self.date_of_expiry)
        )

    def key_seed(self) -> bytes:
        """K_seed = first 16 bytes of SHA-1(MRZ_information) (ICAO 9303-11 §9.7.2)."""
        return hashlib.sha1(self.mrz_information.encode("ascii")).digest()[:16]  # noqa: S324

    def pace_password(self) -> bytes:
        """The PACE MRZ password K_pi source: SHA-1(MRZ_information), all 20 bytes."""
        return hashlib.sha1(self.mrz_information.encode("ascii")).digest()  # noqa: S324

    @classmethod
    def from_mrz(cls, mrz: str) -> MrzKeyInput:
        """Take the key fields from a whole TD1, TD2 or TD3 MRZ (lines joined or not)."""
        lines = [line.strip() for line in mrz.strip().replace("\r", "").split("\n") if line.strip()]
        text = "".join(lines)
        if len(text) == 90:  # TD1: number in line 1, dates in line 2
            number = text[5:14]
            if text[14] == "<":  # long document number continues in the optional data
                rest = text[15:30].split("<", 1)[0]
                number = number + rest[:-1]
            return cls(number.rstrip("<") or "<", text[30:36], text[38:44])
        if len(text) in (72, 88):  # TD2 / TD3: everything in line 2
            line2 = text[len(text) // 2 :]
            return cls(line2[0:9].rstrip("<") or "<", line2[13:19], line2[21:27])
        raise ValueError(f"an MRZ has 90 (TD1), 72 (TD2) or 88 (TD3) characters, not {len(text)}")
