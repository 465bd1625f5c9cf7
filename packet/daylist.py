"""The day's appointment list of a site, signed by central (docs/day-list.md).

Central signs (``GetDayList``); the kiosk verifies before it keeps or uses a list:
the signer certificate must fit the ``day-list-signer`` profile and chain to the
trust anchors from provisioning, the ECDSA P-256/SHA-256 signature must cover the
exact bytes, the bytes must be RFC 8785 canonical JSON of format
:data:`FORMAT`, and the list must be for this site, this device and the day
asked for, and not expired. Every member is checked against its format; sizes
and depth are checked before parsing.

The same :class:`CaseAppointment` describes a case found online (``LookupCase``)
and one found in the list, so the kiosk handles both alike.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from packet.boundedjson import JsonRejected, loads
from packet.canonical import CanonicalJsonError, canonical_json
from packet.certprofiles import DAY_LIST_SIGNER
from packet.errors import CertificateInvalid
from packet.timestamps import TimestampFormatError, format_timestamp, parse_timestamp
from packet.trust import MAX_CHAIN, TrustStore

FORMAT = "aima.day-list.v1"
MAX_LIST_BYTES = 2 << 20
MAX_APPOINTMENTS = 2000
MAX_CERT_BYTES = 16 << 10
#: object > appointments array > appointment object > applicant/document object.
MAX_DEPTH = 4
#: How far the list's issued_at may be ahead of the verifier's clock.
CLOCK_SKEW = timedelta(minutes=5)

CASE_REFERENCE = re.compile(r"^[A-Za-z0-9/_.-]{3,64}$")
APPOINTMENT_CODE = re.compile(r"^APT-[0-9A-HJKMNP-TV-Z]{8}$")
SITE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_OF_BIRTH = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
NATIONALITY = re.compile(r"^[A-Z]{1,3}$")  # ICAO 9303: three letters, "D" for Germany
DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9<-]{1,32}$")
CASE_STATUSES = ("open", "suspended", "closed")
DOCUMENT_TYPES = ("passport", "national_id_card", "residence_permit", "travel_document", "other")
MAX_NAME = 200


class DayListInvalid(Exception):
    """A day list (or a case record) fails verification; ``code`` says which check."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def is_appointment_code(reference: str) -> bool:
    return reference.startswith("APT-")


def valid_reference(reference: str) -> bool:
    """A case reference or an appointment code (cases.proto formats)."""
    if is_appointment_code(reference):
        return APPOINTMENT_CODE.fullmatch(reference) is not None
    return CASE_REFERENCE.fullmatch(reference) is not None


@dataclass(frozen=True)
class CaseAppointment:
    """A case with its appointment at one site: what the counter needs, no more."""

    case_reference: str
    case_status: str  # open | suspended | closed
    appointment_code: str
    site_id: str
    window_start: datetime
    window_end: datetime
    full_name: str
    date_of_birth: str
    nationality: str
    document_type: str
    document_number: str

    def __post_init__(self) -> None:
        checks = (
            ("case_reference", CASE_REFERENCE.fullmatch(self.case_reference)),
            ("case_status", self.case_status in CASE_STATUSES),
            ("appointment_code", APPOINTMENT_CODE.fullmatch(self.appointment_code)),
            ("site_id", SITE_ID.fullmatch(self.site_id)),
            ("window", self.window_start.tzinfo is not None and self.window_end.tzinfo is not None),
            ("window", self.window_start < self.window_end),
            ("full_name", 0 < len(self.full_name) <= MAX_NAME and self.full_name.isprintable()),
            ("date_of_birth", DATE_OF_BIRTH.fullmatch(self.date_of_birth)),
            ("nationality", NATIONALITY.fullmatch(self.nationality)),
            ("document_type", self.document_type in DOCUMENT_TYPES),
            ("document_number", DOCUMENT_NUMBER.fullmatch(self.document_number)),
        )
        for name, ok in checks:
            if not ok:
                raise DayListInvalid("field_invalid", f"{name} is not in its documented format")

    @property
    def open(self) -> bool:
        return self.case_status == "open"

    def matches(self, reference: str) -> bool:
        return reference in (self.case_reference, self.appointment_code)

    def to_json(self) -> dict[str, Any]:
        return {
            "appointment_code": self.appointment_code,
            "applicant": {
                "date_of_birth": self.date_of_birth,
                "full_name": self.full_name,
                "nationality": self.nationality,
            },
            "case_reference": self.case_reference,
            "case_status": self.case_status,
            "document": {"number": self.document_number, "type": self.document_type},
            "window_end": format_timestamp(self.window_end),
            "window_start": format_timestamp(self.window_start),
        }

    @classmethod
    def from_json(cls, value: Any, site_id: str) -> CaseAppointment:
        try:
            applicant, document = value["applicant"], value["document"]
            return cls(
                case_reference=_text(value["case_reference"]),
                case_status=_text(value["case_status"]),
                appointment_code=_text(value["appointment_code"]),
                site_id=site_id,
                window_start=parse_timestamp(value["window_start"]),
                window_end=parse_timestamp(value["window_end"]),
                full_name=_text(applicant["full_name"]),
                date_of_birth=_text(applicant["date_of_birth"]),
                nationality=_text(applicant["nationality"]),
                document_type=_text(document["type"]),
                document_number=_text(document["number"]),
            )
        except (KeyError, TypeError, TimestampFormatError) as exc:
            raise DayListInvalid("field_invalid", f"appointment is malformed: {exc}") from None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


@dataclass(frozen=True)
class DayList:
    """A verified list: the appointments of ``day`` at ``site_id``, issued to ``device_id``."""

    site_id: str
    day: date
    time_zone: str
    device_id: str
    issued_at: datetime
    not_after: datetime
    appointments: tuple[CaseAppointment, ...]

    def find(self, reference: str) -> CaseAppointment | None:
        """The appointment a case reference or appointment code names, if listed."""
        for appointment in self.appointments:
            if appointment.matches(reference):
                return appointment
        return None

    def to_bytes(self) -> bytes:
        """The canonical JSON central signs."""
        return canonical_json(
            {
                "appointments": [a.to_json() for a in self.appointments],
                "day": self.day.isoformat(),
                "device_id": self.device_id,
                "format": FORMAT,
                "issued_at": format_timestamp(self.issued_at),
                "not_after": format_timestamp(self.not_after),
                "site_id": self.site_id,
                "time_zone": self.time_zone,
            }
        )


@dataclass(frozen=True)
class SignedDayList:
    """The list's exact bytes, central's DER signature and the signer's chain (DER)."""

    signed_list: bytes
    signature: bytes
    chain_der: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        """One canonical JSON document (what the kiosk encrypts at rest)."""
        return canonical_json(
            {
                "chain": [c.hex() for c in self.chain_der],
                "signature": self.signature.hex(),
                "signed_list": self.signed_list.decode(),
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedDayList:
        try:
            value = loads(data, max_bytes=3 * MAX_LIST_BYTES, max_depth=2)
            chain = value["chain"]
            if not isinstance(chain, list) or not 0 < len(chain) <= MAX_CHAIN:
                raise DayListInvalid("chain_invalid", "empty or overlong signer chain")
            return cls(
                _text(value["signed_list"]).encode(),
                bytes.fromhex(_text(value["signature"])),
                tuple(bytes.fromhex(_text(c)) for c in chain),
            )
        except (JsonRejected, KeyError, TypeError, ValueError) as exc:
            raise DayListInvalid("malformed", f"unreadable signed day list: {exc}") from None

    @property
    def signer_sha256(self) -> str:
        return hashlib.sha256(self.chain_der[0]).hexdigest() if self.chain_der else ""


def sign_day_list(
    day_list: DayList, key: ec.EllipticCurvePrivateKey, chain: list[x509.Certificate]
) -> SignedDayList:
    """Central: sign ``day_list`` with a ``day-list-signer`` key (leaf of ``chain``)."""
    payload = day_list.to_bytes()
    if len(payload) > MAX_LIST_BYTES or len(day_list.appointments) > MAX_APPOINTMENTS:
        raise DayListInvalid("too_large", "the day list exceeds its documented bounds")
    signature = key.sign(payload, ec.ECDSA(hashes.SHA256()))
    der = tuple(c.public_bytes(serialization.Encoding.DER) for c in chain)
    return SignedDayList(payload, signature, der)


def verify_day_list(
    signed: SignedDayList,
    trust: TrustStore,
    *,
    site_id: str,
    day: date,
    device_id: str,
    now: datetime,
) -> DayList:
    """The kiosk: every check of the module docstring, or :class:`DayListInvalid`."""
    if len(signed.signed_list) > MAX_LIST_BYTES:
        raise DayListInvalid("too_large", f"day list over {MAX_LIST_BYTES} bytes")
    chain = _certificates(signed.chain_der)
    try:
        trust.verify_chain(chain, now, DAY_LIST_SIGNER)
    except CertificateInvalid as exc:
        raise DayListInvalid("signer_untrusted", f"{exc.code}: {exc}") from None
    key = chain[0].public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise DayListInvalid("signer_untrusted", "signer key is not ECDSA")
    try:
        key.verify(signed.signature, signed.signed_list, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise DayListInvalid(
            "signature_invalid", "the day list signature does not verify"
        ) from None
    listed = parse_day_list(signed.signed_list)
    if listed.site_id != site_id:
        raise DayListInvalid("wrong_site", "the day list is for another site")
    if listed.device_id != device_id:
        raise DayListInvalid("wrong_device", "the day list was issued to another device")
    if listed.day != day:
        raise DayListInvalid("wrong_day", "the day list is for another day")
    if listed.issued_at > now + CLOCK_SKEW:
        raise DayListInvalid("not_yet_valid", "the day list is issued in the future")
    if listed.not_after <= now:
        raise DayListInvalid("expired", "the day list has expired")
    return listed


def parse_day_list(data: bytes) -> DayList:
    """The list in ``data`` (canonical JSON of :data:`FORMAT`), every member checked."""
    try:
        value = loads(data, max_bytes=MAX_LIST_BYTES, max_depth=MAX_DEPTH)
    except JsonRejected as exc:
        raise DayListInvalid("malformed", str(exc)) from None
    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise DayListInvalid("format_unknown", f"not a {FORMAT} document")
    try:
        if canonical_json(value) != data:
            raise DayListInvalid("not_canonical", "the day list is not RFC 8785 canonical JSON")
    except CanonicalJsonError as exc:
        raise DayListInvalid("not_canonical", str(exc)) from None
    rows = value.get("appointments")
    if not isinstance(rows, list) or len(rows) > MAX_APPOINTMENTS:
        raise DayListInvalid("too_large", "appointments missing or over the limit")
    try:
        site = _text(value["site_id"])
        if not SITE_ID.fullmatch(site) or not DAY.fullmatch(_text(value["day"])):
            raise DayListInvalid("field_invalid", "site_id or day is not in its format")
        listed = DayList(
            site_id=site,
            day=date.fromisoformat(value["day"]),
            time_zone=_text(value["time_zone"]),
            device_id=_text(value["device_id"]),
            issued_at=parse_timestamp(value["issued_at"]),
            not_after=parse_timestamp(value["not_after"]),
            appointments=tuple(CaseAppointment.from_json(row, site) for row in rows),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DayListInvalid("field_invalid", f"day list is malformed: {exc}") from None
    codes = [a.appointment_code for a in listed.appointments]
    if len(set(codes)) != len(codes):
        raise DayListInvalid("field_invalid", "an appointment code is listed twice")
    return listed


def _certificates(chain_der: tuple[bytes, ...]) -> list[x509.Certificate]:
    if not 0 < len(chain_der) <= MAX_CHAIN or any(len(c) > MAX_CERT_BYTES for c in chain_der):
        raise DayListInvalid("chain_invalid", "empty, overlong or oversized signer chain")
    try:
        return [x509.load_der_x509_certificate(c) for c in chain_der]
    except ValueError as exc:
        raise DayListInvalid("chain_invalid", f"signer certificate unreadable: {exc}") from None
