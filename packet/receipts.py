"""Receipts: central's signed proof that it accepted a packet (see packet_upload.proto)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from packet.canonical import canonical_json


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
        value = json.loads(data)
        return cls(
            value["payload"].encode(), bytes.fromhex(value["signature"]), value["signer_sha256"]
        )


def sign_receipt(
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
    *,
    packet_id: str,
    device_id: str,
    sha256_hex: str,
    size: int,
    accepted_at: str,
) -> SignedReceipt:
    payload = canonical_json(
        {
            "accepted_at": accepted_at,
            "device_id": device_id,
            "packet_id": packet_id,
            "sha256_hex": sha256_hex,
            "size": size,
        }
    )
    signer = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    return SignedReceipt(payload, key.sign(payload, ec.ECDSA(hashes.SHA256())), signer)


def verify_receipt(
    receipt: SignedReceipt, signer: x509.Certificate, *, packet_id: str, sha256_hex: str, size: int
) -> dict[str, object]:
    """Check the signature and that the receipt covers exactly this packet."""
    expected = hashlib.sha256(signer.public_bytes(serialization.Encoding.DER)).hexdigest()
    if receipt.signer_sha256 != expected:
        raise ReceiptInvalid("receipt is signed by an unknown key")
    key = signer.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ReceiptInvalid("receipt signer key is not ECDSA")
    try:
        key.verify(receipt.signature, receipt.payload, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise ReceiptInvalid("receipt signature does not verify") from None
    fields: dict[str, object] = json.loads(receipt.payload)
    if (fields.get("packet_id"), fields.get("sha256_hex"), fields.get("size")) != (
        packet_id,
        sha256_hex,
        size,
    ):
        raise ReceiptInvalid("receipt does not cover this packet")
    return fields
