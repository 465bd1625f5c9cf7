"""JWS (RFC 7515 compact form) as SBI uses it: x5c certificate chain, RS256 or ES256.

SBI signs ``deviceInfo``, each capture's ``data`` block and the ``digitalId``
as ``b64url(header).b64url(payload).b64url(signature)``. The header carries
``alg`` and ``x5c``, the device certificate first (base64 DER, RFC 7515
section 4.1.6; some services send one string instead of an array, or use the
URL-safe alphabet: both are read).

Verification is strict: the algorithm must be RS256 (what the specification
names) or ES256 (P-256, for devices with EC keys); the signature is checked
over the ASCII bytes ``header.payload`` with the leaf certificate's key; the
leaf must chain, via the other x5c certificates, to one of the configured
trust anchors at the current time (:mod:`cryptography.x509.verification`,
with the Web PKI rules for CA certificates and no usage rules for the
device certificate, which carries no server or client name).

:func:`sign_compact` is the other half, used by the simulator.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509 import verification

from drivers.sbi.errors import SbiCertificateUntrusted, SbiSignatureInvalid

logger = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "ES256")
_P256_BYTES = 32
MAX_CHAIN = 5

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url (or standard base64), padded or not."""
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (ValueError, TypeError) as exc:
        raise SbiSignatureInvalid(f"bad base64: {exc}") from None


@dataclass(frozen=True)
class VerifiedJws:
    header: dict[str, Any]
    payload: bytes
    certificate: x509.Certificate

    def payload_json(self) -> Any:
        try:
            return json.loads(self.payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SbiSignatureInvalid(f"signed payload is not JSON: {exc}") from None

    @property
    def certificate_sha256(self) -> str:
        return hashlib.sha256(self.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


class TrustStore:
    """The CA certificates device certificates must chain to."""

    def __init__(self, anchors: Iterable[x509.Certificate]) -> None:
        self._anchors = list(anchors)
        if not self._anchors:
            raise ValueError("at least one trust anchor is required")
        self._store = verification.Store(self._anchors)

    @classmethod
    def from_pem_files(cls, paths: Iterable[Path]) -> TrustStore:
        anchors: list[x509.Certificate] = []
        for path in paths:
            anchors.extend(x509.load_pem_x509_certificates(path.read_bytes()))
        return cls(anchors)

    def verify_chain(
        self, leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], now: dt.datetime
    ) -> None:
        verifier = (
            verification.PolicyBuilder()
            .store(self._store)
            .time(now)
            .max_chain_depth(MAX_CHAIN)
            .extension_policies(
                ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
                ee_policy=verification.ExtensionPolicy.permit_all(),
            )
            .build_client_verifier()
        )
        try:
            verifier.verify(leaf, list(intermediates))
        except verification.VerificationError as exc:
            raise SbiCertificateUntrusted(f"device certificate not trusted: {exc}") from None


def _split(token: str) -> tuple[str, str, str]:
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts):
        raise SbiSignatureInvalid("not a signed JWS (expected header.payload.signature)")
    return parts[0], parts[1], parts[2]


def _certificates(header: dict[str, Any]) -> list[x509.Certificate]:
    x5c = header.get("x5c")
    if isinstance(x5c, str):
        x5c = [x5c]
    if not isinstance(x5c, list) or not x5c or len(x5c) > MAX_CHAIN:
        raise SbiSignatureInvalid("JWS header has no usable x5c certificate chain")
    try:
        return [x509.load_der_x509_certificate(b64url_decode(str(item))) for item in x5c]
    except ValueError as exc:
        raise SbiSignatureInvalid(f"x5c holds an unreadable certificate: {exc}") from None


def _check_signature(alg: str, cert: x509.Certificate, signed: bytes, signature: bytes) -> None:
    key = cert.public_key()
    try:
        if alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            return
        if alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
            if key.curve.name != "secp256r1" or len(signature) != 2 * _P256_BYTES:
                raise SbiSignatureInvalid("ES256 needs a P-256 key and a 64-byte signature")
            r = int.from_bytes(signature[:_P256_BYTES], "big")
            s = int.from_bytes(signature[_P256_BYTES:], "big")
            key.verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
            return
    except InvalidSignature:
        raise SbiSignatureInvalid("JWS signature does not verify") from None
    raise SbiSignatureInvalid(f"certificate key does not match alg {alg}")


def verify_compact(token: str, trust: TrustStore, now: dt.datetime) -> VerifiedJws:
    """Verify a compact JWS and its x5c chain; return the header, payload and signer."""
    header_b64, payload_b64, signature_b64 = _split(token)
    try:
        header = json.loads(b64url_decode(header_b64))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SbiSignatureInvalid("JWS header is not JSON") from None
    if not isinstance(header, dict):
        raise SbiSignatureInvalid("JWS header is not an object")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise SbiSignatureInvalid(f"JWS alg {alg!r} is refused (need RS256 or ES256)")
    if "crit" in header:
        raise SbiSignatureInvalid("JWS header has critical extensions this client does not know")
    chain = _certificates(header)
    signed = f"{header_b64}.{payload_b64}".encode("ascii")
    _check_signature(str(alg), chain[0], signed, b64url_decode(signature_b64))
    trust.verify_chain(chain[0], chain[1:], now)
    return VerifiedJws(header, b64url_decode(payload_b64), chain[0])


def unverified_payload(token: str) -> bytes:
    """The payload of a JWS, or of an unsigned ``b64url(payload)`` digital id, unchecked."""
    parts = token.strip().split(".")
    return b64url_decode(parts[1] if len(parts) == 3 else parts[0])


def sign_compact(payload: bytes, key: SigningKey, chain: Sequence[x509.Certificate]) -> str:
    """Sign ``payload`` as a compact JWS with x5c = ``chain`` (leaf first)."""
    alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    header = {
        "alg": alg,
        "typ": "JWT",
        "x5c": [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain
        ],
    }
    header_b64 = b64url_encode(json.dumps(header, separators=(",", ":")).encode())
    signed = f"{header_b64}.{b64url_encode(payload)}".encode("ascii")
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(signed, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")
    return f"{header_b64}.{b64url_encode(payload)}.{b64url_encode(signature)}"
