"""Files only this kiosk's device key can read: ECIES to the device's own P-256 key.

The device key signs; with a TPM/HSM it never leaves the token and cannot
decrypt, so data is not encrypted *with* it but *to* it (ECIES, SEC 1 section
5.1, as HPKE's DHKEM does):

1. a fresh ephemeral P-256 key ``e`` per write; ``Z = ECDH(e, device public key)``;
2. ``K = HKDF-SHA256(Z, salt = E || D, info = "aima-claim sealed-file v1" || context)``
   where ``E`` and ``D`` are the uncompressed ephemeral and device public points and
   ``context`` names what the file is (e.g. ``day-list|CLAIM-X|2026-11-23``);
3. AES-256-GCM under ``K`` with a random 96-bit nonce; the header is the AAD.

The ephemeral private key is dropped after writing. Reading needs ``ECDH(d, E)``
with the device's private key ``d``: in software (``SoftwareDeviceKey``) or on the
token (``CKM_ECDH1_DERIVE``, ``Pkcs11DeviceKey``; the key pair is generated with
CKA_DERIVE). A file copied off the kiosk, or moved to another context (another
day, another site), does not open. Using the signing key for ECDH as well is the
ECDSA + ECIES combination shown jointly secure by Degabriele, Lehmann, Paterson,
Smart and Strefler (CT-RSA 2012).

File layout: ``MAGIC (8) || E (65) || nonce (12) || ciphertext || tag (16)``.
Writes are atomic (temporary file, fsync, rename, directory fsync), mode 0600.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from appliance.durable import atomic_write

MAGIC = b"AIMA-SF1"
_POINT = 65
_NONCE = 12
_INFO = b"aima-claim sealed-file v1"
MAX_SEALED_BYTES = 16 << 20


class SealedFileError(Exception):
    """The file is missing, malformed, for another context, or not for this device."""


class KeyAgreement(Protocol):
    """The device key's public half and ECDH with its private half (software or token)."""

    def public_key(self) -> ec.EllipticCurvePublicKey: ...

    def exchange(self, peer: ec.EllipticCurvePublicKey) -> bytes: ...


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _key(shared: bytes, ephemeral: bytes, device: bytes, context: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=ephemeral + device, info=_INFO + b"|" + context
    ).derive(shared)


def seal(device: ec.EllipticCurvePublicKey, context: bytes, plaintext: bytes) -> bytes:
    """Encrypt ``plaintext`` to ``device`` (needs only the public key)."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    e_point, d_point = _point(ephemeral.public_key()), _point(device)
    key = _key(ephemeral.exchange(ec.ECDH(), device), e_point, d_point, context)
    nonce = os.urandom(_NONCE)
    header = MAGIC + e_point + nonce
    return header + AESGCM(key).encrypt(nonce, plaintext, header + context)


def unseal(device: KeyAgreement, context: bytes, data: bytes) -> bytes:
    """Decrypt what :func:`seal` wrote for this device and ``context``."""
    if len(data) > MAX_SEALED_BYTES or len(data) < len(MAGIC) + _POINT + _NONCE + 16:
        raise SealedFileError("sealed file has an impossible size")
    if not data.startswith(MAGIC):
        raise SealedFileError("not a sealed file")
    e_point = data[len(MAGIC) : len(MAGIC) + _POINT]
    nonce = data[len(MAGIC) + _POINT : len(MAGIC) + _POINT + _NONCE]
    header = data[: len(MAGIC) + _POINT + _NONCE]
    try:
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), e_point)
    except ValueError:
        raise SealedFileError("sealed file holds no valid ephemeral key") from None
    key = _key(device.exchange(ephemeral), e_point, _point(device.public_key()), context)
    try:
        return AESGCM(key).decrypt(nonce, data[len(header) :], header + context)
    except InvalidTag:
        raise SealedFileError("sealed file does not open: another device or context") from None


def write_sealed(
    path: Path, device: ec.EllipticCurvePublicKey, context: bytes, plaintext: bytes
) -> None:
    """Seal ``plaintext`` into ``path`` atomically (mode 0600)."""
    atomic_write(path, seal(device, context, plaintext))


def read_sealed(path: Path, device: KeyAgreement, context: bytes) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_SEALED_BYTES:
            raise SealedFileError(f"{path.name} is larger than {MAX_SEALED_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise SealedFileError(f"{path.name}: {exc.strerror}") from None
    return unseal(device, context, data)
