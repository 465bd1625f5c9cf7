"""The service ledger: one kiosk's signed counts for one local day, derived from its log.

The ledger is what AIMA counts the services it pays for with. The kiosk derives
it from its record of operations (``appliance/audit/book.py``), signs it with
its device key as a C2SP signed note whose text is::

    claim-ledger/v1
    <RFC 8785 canonical JSON of the ledger>

under the key name ``claim-kiosk/ledger/v1/<device id>``, and uploads it. A day's
ledger is re-signed with a higher ``revision`` whenever something about that day
changes later (a receipt arriving after midnight); central keeps the latest.

Members of the JSON object (all required):

- ``device_id``, ``site_id``; ``day`` (``YYYY-MM-DD``, the kiosk's local calendar
  day) and ``start``/``end``, the UTC instants that day spans; ``as_of``, when
  the counts were taken; ``revision`` (1, 2, ...);
- ``log_size``/``log_root``: the record of operations (size, base64 tree head)
  the counts were derived from: entries ``[0, log_size)``;
- ``counts``: :data:`COUNT_KEYS`, each a non-negative integer;
- ``appointments``/``no_shows``: from the day's appointment list, or null when
  the kiosk had none (``no_show_basis`` ``"day_list"`` or ``"none"``);
- ``timing``: ``timed`` enrolments with both start and seal, their total
  ``wall_ms`` (start to sealed) and ``software_ms`` (time inside capture and
  sealing calls);
- ``quality``: check name -> ``{"attempts", "rejects"}``;
- ``delivered``: ``[{"packet_id", "accepted_at"}]``, the packets whose receipt
  central signed (``accepted_at``) within ``[start, end)``, sorted by packet id.
  ``counts.delivered`` is their number: this is what central reconciles with
  the receipts it issued (:func:`reconcile`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from packet.boundedjson import JsonRejected, loads
from packet.canonical import canonical_json
from packet.certprofiles import device_id_of
from packet.errors import CertificateInvalid
from packet.timestamps import TimestampFormatError, parse_timestamp
from transparency.note import NoteError, parse_note, sign_note, verify_note

HEADER = "claim-ledger/v1"
KEY_PREFIX = "claim-kiosk/ledger/v1/"
COUNT_KEYS = (
    "started",
    "completed",
    "delivered",
    "cancelled",
    "consent_refused",
    "exceptions",
    "lookups",
    "check_ins",
    "capture_attempts",
)
MAX_LEDGER_BYTES = 48 << 10
MAX_DELIVERED = 400
MAX_CHECKS = 64
#: A receipt central signed less than this long before the ledger's ``as_of`` may
#: still be on its way to the kiosk: not a mismatch yet ("pending").
RECEIPT_GRACE_S = 120.0
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CHECK = re.compile(r"^[a-z0-9_.]{1,64}$")


class LedgerError(ValueError):
    """The ledger is malformed or its signature does not verify."""


@dataclass(frozen=True)
class Delivery:
    packet_id: str
    accepted_at: str


@dataclass
class DayLedger:
    device_id: str
    site_id: str
    day: str
    start: str
    end: str
    as_of: str = ""
    revision: int = 1
    log_size: int = 0
    log_root: str = ""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    appointments: int | None = None
    no_shows: int | None = None
    no_show_basis: str = "none"
    timing: dict[str, int] = field(
        default_factory=lambda: {"timed": 0, "wall_ms": 0, "software_ms": 0}
    )
    quality: dict[str, dict[str, int]] = field(default_factory=dict)
    delivered: list[Delivery] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "site_id": self.site_id,
            "day": self.day,
            "start": self.start,
            "end": self.end,
            "as_of": self.as_of,
            "revision": self.revision,
            "log_size": self.log_size,
            "log_root": self.log_root,
            "counts": {key: self.counts.get(key, 0) for key in COUNT_KEYS},
            "appointments": self.appointments,
            "no_shows": self.no_shows,
            "no_show_basis": self.no_show_basis,
            "timing": dict(self.timing),
            "quality": {k: dict(v) for k, v in sorted(self.quality.items())},
            "delivered": [
                {"packet_id": d.packet_id, "accepted_at": d.accepted_at}
                for d in sorted(self.delivered, key=lambda d: d.packet_id)
            ],
        }

    def content(self) -> dict[str, Any]:
        """What the day says, without when it was said (to decide on a new revision)."""
        data = self.to_json()
        for volatile in ("as_of", "revision", "log_size", "log_root"):
            del data[volatile]
        return data

    @classmethod
    def from_json(cls, data: Any) -> DayLedger:
        return _ledger_from_json(data)


def key_name(device_id: str) -> str:
    return KEY_PREFIX + device_id


def ledger_text(ledger: DayLedger) -> str:
    return HEADER + "\n" + canonical_json(ledger.to_json()).decode() + "\n"


def sign_ledger(
    ledger: DayLedger, sign: Callable[[bytes], bytes], public_key: ec.EllipticCurvePublicKey
) -> bytes:
    text = ledger_text(ledger)
    return sign_note(text, key_name(ledger.device_id), sign, public_key).to_bytes()


def read_ledger(data: bytes) -> DayLedger:
    """The ledger a signed note states (format only; no signature check)."""
    if len(data) > MAX_LEDGER_BYTES:
        raise LedgerError(f"ledger of {len(data)} bytes exceeds {MAX_LEDGER_BYTES}")
    try:
        note = parse_note(data)
    except NoteError as exc:
        raise LedgerError(str(exc)) from None
    header, _, body = note.text.partition("\n")
    if header != HEADER or not body.endswith("\n") or "\n" in body[:-1]:
        raise LedgerError(f"a ledger note is '{HEADER}' and one line of JSON")
    raw = body[:-1].encode()
    try:
        value = loads(raw, max_bytes=MAX_LEDGER_BYTES, max_depth=4)
    except JsonRejected as exc:
        raise LedgerError(str(exc)) from None
    ledger = _ledger_from_json(value)
    if canonical_json(ledger.to_json()) != raw:
        raise LedgerError("the ledger is not in canonical form (RFC 8785)")
    return ledger


def open_ledger(data: bytes, certificate: x509.Certificate) -> DayLedger:
    """Parse and verify a signed ledger; the certificate must name the ledger's device."""
    ledger = read_ledger(data)
    try:
        certified = device_id_of(certificate)
    except CertificateInvalid as exc:
        raise LedgerError(f"the signing certificate names no device: {exc}") from None
    if certified != ledger.device_id:
        raise LedgerError("the ledger names another device than its signer")
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise LedgerError("the signing key is not ECDSA")
    try:
        verify_note(parse_note(data), key_name(ledger.device_id), key)
    except NoteError as exc:
        raise LedgerError(str(exc)) from None
    return ledger


@dataclass(frozen=True)
class Reconciliation:
    """The ledger's deliveries against the receipts central issued for that day."""

    receipts: int
    missing_at_kiosk: tuple[str, ...]  # central signed a receipt the ledger does not list
    unknown_at_central: tuple[str, ...]  # the ledger lists a receipt central never issued
    pending: tuple[str, ...]  # signed just before as_of: may not have reached the kiosk

    @property
    def matches(self) -> bool:
        return not self.missing_at_kiosk and not self.unknown_at_central


def reconcile(
    ledger: DayLedger,
    receipts: Sequence[tuple[str, str]],
    grace_s: float = RECEIPT_GRACE_S,
) -> Reconciliation:
    """Compare with ``receipts`` = central's (packet_id, accepted_at) for this device."""
    start, end = parse_timestamp(ledger.start), parse_timestamp(ledger.end)
    as_of = parse_timestamp(ledger.as_of)
    issued = {
        packet: parse_timestamp(at)
        for packet, at in receipts
        if start <= parse_timestamp(at) < end and parse_timestamp(at) <= as_of
    }
    listed = {d.packet_id for d in ledger.delivered}
    missing: list[str] = []
    pending: list[str] = []
    for packet, at in sorted(issued.items()):
        if packet in listed:
            continue
        (pending if (as_of - at).total_seconds() < grace_s else missing).append(packet)
    unknown = sorted(listed - set(issued))
    return Reconciliation(len(issued), tuple(missing), tuple(unknown), tuple(pending))


def _ledger_from_json(data: Any) -> DayLedger:
    if not isinstance(data, dict):
        raise LedgerError("a ledger is a JSON object")
    expected = set(DayLedger("", "", "", "", "").to_json())
    if set(data) != expected:
        raise LedgerError("the ledger's members are not the documented ones")
    try:
        for name in ("start", "end", "as_of"):
            parse_timestamp(data[name])
        if not _DAY.match(str(data["day"])):
            raise LedgerError("day is not YYYY-MM-DD")
        datetime.strptime(data["day"], "%Y-%m-%d")
        counts = {key: _count(data["counts"], key) for key in COUNT_KEYS}
        if set(data["counts"]) != set(COUNT_KEYS):
            raise LedgerError("counts are not the documented ones")
        timing = {key: _count(data["timing"], key) for key in ("timed", "wall_ms", "software_ms")}
        quality = data["quality"]
        if not isinstance(quality, dict) or len(quality) > MAX_CHECKS:
            raise LedgerError("quality is not a bounded object")
        checks = {
            str(name): {"attempts": _count(v, "attempts"), "rejects": _count(v, "rejects")}
            for name, v in quality.items()
            if _CHECK.match(str(name))
        }
        if len(checks) != len(quality):
            raise LedgerError("a quality check name is malformed")
        delivered = data["delivered"]
        if not isinstance(delivered, list) or len(delivered) > MAX_DELIVERED:
            raise LedgerError("delivered is not a bounded list")
        deliveries = [Delivery(str(d["packet_id"]), str(d["accepted_at"])) for d in delivered]
        for d in deliveries:
            parse_timestamp(d.accepted_at)
        if counts["delivered"] != len(deliveries):
            raise LedgerError("counts.delivered differs from the deliveries listed")
        basis = data["no_show_basis"]
        if basis not in ("day_list", "none"):
            raise LedgerError("no_show_basis is day_list or none")
        return DayLedger(
            device_id=str(data["device_id"]),
            site_id=str(data["site_id"]),
            day=data["day"],
            start=data["start"],
            end=data["end"],
            as_of=data["as_of"],
            revision=_count(data, "revision"),
            log_size=_count(data, "log_size"),
            log_root=str(data["log_root"]),
            counts=counts,
            appointments=_optional_count(data, "appointments"),
            no_shows=_optional_count(data, "no_shows"),
            no_show_basis=basis,
            timing=timing,
            quality=checks,
            delivered=deliveries,
        )
    except (KeyError, TypeError, ValueError, TimestampFormatError) as exc:
        if isinstance(exc, LedgerError):
            raise
        raise LedgerError(f"malformed ledger: {exc}") from None


def _count(data: Any, key: str) -> int:
    value = data[key]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << 53:
        raise LedgerError(f"{key} is not a non-negative integer")
    return value


def _optional_count(data: Any, key: str) -> int | None:
    return None if data[key] is None else _count(data, key)
