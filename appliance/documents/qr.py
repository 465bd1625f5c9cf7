"""Appointment QR codes: decode with OpenCV and extract the case reference.

AIMA's appointment letters and e-mails carry a QR code; we accept the plain
reference (or appointment code), ``key=value`` pairs (``case``/``ref``/``reference``,
``appointment``/``appointment_code``) separated by
``;`` or ``&``, and URLs with such a query parameter. Whatever the format,
the reference must match the pattern the submit path enforces.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import cv2

from drivers.interfaces import ImageU8

CASE_REFERENCE = re.compile(r"^[A-Za-z0-9/_.-]{3,64}$")
_KEYS = ("case", "case_reference", "ref", "reference", "appointment", "appointment_code")


def case_reference_from_payload(payload: str) -> str | None:
    """The case reference in a QR payload, or None when it holds none."""
    text = payload.strip()
    if CASE_REFERENCE.fullmatch(text):
        return text
    candidates: dict[str, list[str]] = {}
    if "://" in text:
        candidates = parse_qs(urlsplit(text).query)
    else:
        body = text.split(":", 1)[1] if re.match(r"^[A-Za-z]+:", text) else text
        for part in re.split(r"[;&\n]", body):
            key, sep, value = part.partition("=")
            if sep:
                candidates.setdefault(key.strip().lower(), []).append(value.strip())
    for key in _KEYS:
        for value in candidates.get(key, []):
            if CASE_REFERENCE.fullmatch(value):
                return value
    return None


def decode_qr(image: ImageU8) -> str | None:
    """The text of the first QR code found in ``image``, or None."""
    detector = cv2.QRCodeDetector()
    text, points, _ = detector.detectAndDecode(image)
    if points is None or not text:
        return None
    return str(text)
