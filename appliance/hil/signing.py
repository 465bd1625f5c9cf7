"""Signed captures, as an SBI device signs its biometric records (JWS, ES256).

MOSIP's SBI 2.0 has the device sign each captured biometric with its device
key (JWS over the data block) and rotate that key on request. The rig checks
the same properties on every target with an ephemeral P-256 key ring: a
capture signed by the current key verifies, any change to the signed data is
refused, rotation gives a new key id, records signed before the rotation still
verify against the retired key, and the retired key never verifies new ones.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from drivers.interfaces import DeviceInfo, FingerprintImage


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def key_id(public: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 JWK thumbprint of a P-256 public key."""
    numbers = public.public_numbers()
    jwk = {
        "crv": "P-256",
        "kty": "EC",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }
    return b64url(hashlib.sha256(canonical(jwk)).digest())


def capture_record(image: FingerprintImage, info: DeviceInfo) -> dict[str, Any]:
    """The data block of one capture (SBI style: identity of the device + the biometric)."""
    return {
        "bioType": "Finger",
        "bioSubType": image.position.name,
        "deviceCode": info.device_id,
        "digitalId": {
            "serialNo": info.serial,
            "make": info.vendor,
            "model": info.model,
            "type": "Finger",
            "deviceSubType": "Single",
        },
        "requestedScore": None,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(image.timestamp)),
        "bioValueSha256": hashlib.sha256(image.pixels.tobytes()).hexdigest(),
        "bioValueShape": list(image.pixels.shape),
        "ppi": image.ppi,
    }


@dataclass
class DeviceKeyRing:
    """The current signing key and the retired ones (by key id)."""

    current: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    retired: dict[str, ec.EllipticCurvePublicKey] = field(default_factory=dict)

    @property
    def kid(self) -> str:
        return key_id(self.current.public_key())

    def rotate(self) -> str:
        """Retire the current key and sign with a new one from now on."""
        self.retired[self.kid] = self.current.public_key()
        self.current = ec.generate_private_key(ec.SECP256R1())
        return self.kid

    def sign(self, payload: dict[str, Any]) -> str:
        """Compact JWS (ES256) over the canonical JSON payload."""
        header = b64url(canonical({"alg": "ES256", "kid": self.kid, "typ": "JWS"}))
        body = b64url(canonical(payload))
        der = self.current.sign(f"{header}.{body}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{header}.{body}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def public_key(self, kid: str) -> ec.EllipticCurvePublicKey | None:
        if kid == self.kid:
            return self.current.public_key()
        return self.retired.get(kid)


def verify(token: str, public: ec.EllipticCurvePublicKey) -> dict[str, Any] | None:
    """The payload when ``token`` is a valid ES256 JWS under ``public``, else ``None``."""
    try:
        header_b64, body_b64, sig_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        raw = b64url_decode(sig_b64)
    except ValueError:
        return None
    if header.get("alg") != "ES256" or len(raw) != 64:
        return None
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, f"{header_b64}.{body_b64}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return None
    payload: dict[str, Any] = json.loads(b64url_decode(body_b64))
    return payload


def token_kid(token: str) -> str:
    header = json.loads(b64url_decode(token.split(".")[0]))
    return str(header.get("kid", ""))
