"""Receipts: central's signed proof that it accepted a packet (see packet_upload.proto).

The payload is RFC 8785 canonical JSON of ``accepted_at`` (packet timestamp
format), ``device_id``, ``packet_id``, ``sha256_hex`` and ``size``, signed with
ECDSA P-256/SHA-256 (DER) by a certificate of the receipt-signer profile
(docs/packet-format.md, sections 8 and 9).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from packet.boundedjson import JsonRejected, loads
from packet.canonical import canonical_json
from packet.certprofiles import RECEIPT_SIGNER, check_end_entity
from packet.errors import CertificateInvalid
from packet.timestamps import (
    TimestampFormatError,
    format_timestamp,
    normalise_timestamp,
    parse_timestamp,
)
from packet.trust import TrustStore

MAX_RECEIPT = 64 << 10


class ReceiptInvalid(Exception):
    """A receipt does not verify or does not match the packet it claims to cover."""


@dataclass(frozen=True)
class SignedReceipt:
    payload: bytes
    signature: bytes
    signer_sha256: str

    def to_bytes(self) -> bytes:
        return canonical_json(
            {
                "payload": self.payload.decode(),
                "signature": self.signature.hex(),
                "signer_sha256": self.signer_sha256,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedReceipt:
        try:
            value = loads(data, max_bytes=MAX_RECEIPT, max_depth=1)
            return cls(
                value["payload"].encode(),
                bytes.fromhex(value["signature"]),
                str(value["signer_sha256"]),
            )
        except (JsonRejected, KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ReceiptInvalid(f"unreadable receipt: {exc}") from None


def sign_receipt(
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
    *,
    packet_id: str,
    device_id: str,
    sha256_hex: str,
    size: int,
    accepted_at: str | datetime,
) -> SignedReceipt:
    """Sign a receipt; ``accepted_at`` is written in the packet timestamp format."""
    if isinstance(accepted_at, datetime):
        stamp = format_timestamp(accepted_at)
    else:
        stamp = normalise_timestamp(accepted_at)
    payload = canonical_json(
        {
            "accepted_at": stamp,
            "device_id": device_id,
            "packet_id": packet_id,
            "sha256_hex": sha256_hex,
            "size": size,
        }
    )
    signer = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    return SignedReceipt(payload, key.sign(payload, ec.ECDSA(hashes.SHA256())), signer)


def verify_receipt(
    receipt: SignedReceipt,
    signer: x509.Certificate,
    *,
    packet_id: str,
    sha256_hex: str,
    size: int,
    trust: TrustStore | None = None,
) -> dict[str, object]:
    """Check the signer, the signature and that the receipt covers exactly this packet.

    ``signer`` is the receipt-signer certificate pinned at provisioning; it
    must fit the receipt-signer profile and, with ``trust``, chain to central's
    anchors at the receipt's ``accepted_at`` (the reference time of a receipt).
    """
    expected = hashlib.sha256(signer.public_bytes(serialization.Encoding.DER)).hexdigest()
    if receipt.signer_sha256 != expected:
        raise ReceiptInvalid("receipt is signed by an unknown key")
    try:
        check_end_entity(signer, RECEIPT_SIGNER)
    except CertificateInvalid as exc:
        raise ReceiptInvalid(f"receipt signer certificate: {exc.code}: {exc}") from None
    key = signer.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ReceiptInvalid("receipt signer key is not ECDSA")
    try:
        key.verify(receipt.signature, receipt.payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise ReceiptInvalid("receipt signature does not verify") from None
    try:
        fields = loads(receipt.payload, max_bytes=MAX_RECEIPT, max_depth=1)
        accepted = parse_timestamp(fields.get("accepted_at"))
    except (JsonRejected, AttributeError, TimestampFormatError) as exc:
        raise ReceiptInvalid(f"receipt payload is malformed: {exc}") from None
    if (fields.get("packet_id"), fields.get("sha256_hex"), fields.get("size")) != (
        packet_id,
        sha256_hex,
        size,
    ):
        raise ReceiptInvalid("receipt does not cover this packet")
    if trust is not None:
        try:
            trust.verify_chain([signer], accepted, RECEIPT_SIGNER)
        except CertificateInvalid as exc:
            raise ReceiptInvalid(f"receipt signer is not trusted: {exc.code}: {exc}") from None
    result: dict[str, object] = fields
    return result
