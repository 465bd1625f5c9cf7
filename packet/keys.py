"""Central's encryption keys (HPKE) with key ids, for sealing and for opening.

A public key is JSON: ``{"key_id", "suite", "public_key_b64"}`` (X25519: 32
raw bytes; X-Wing: ML-KEM-768 encapsulation key (1184) || X25519 (32)). The
private side adds ``"private_key_b64"``:

- X25519: the 32-byte raw private key (RFC 7748);
- X-Wing (``mlkem768x25519-...``): the 32-byte X-Wing decapsulation key seed of
  draft-connolly-cfrg-xwing-kem-10, expanded with SHAKE256 to 96 bytes: the
  first 64 are the ML-KEM-768 seed (d || z), the last 32 the X25519 key.

Key files (``CentralKeyring.save``) carry ``"format": 2``. Format 1 files
(no ``format``) stored the X-Wing key already expanded (96 bytes); they are
still read, and keep that form, because the seed cannot be recovered.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from packet.errors import UnknownKeyId

_RAW = serialization.Encoding.Raw
_RAW_PUB = serialization.PublicFormat.Raw
KEY_FILE_FORMAT = 2
XWING_SEED_LENGTH = 32
XWING_EXPANDED_LENGTH = 96  # key file format 1


def expand_xwing_seed(seed: bytes) -> tuple[bytes, bytes]:
    """X-Wing ``expandDecapsulationKey``: (ML-KEM-768 seed d||z, X25519 private key)."""
    if len(seed) == XWING_EXPANDED_LENGTH:  # format 1: stored already expanded
        return seed[:64], seed[64:]
    if len(seed) != XWING_SEED_LENGTH:
        raise ValueError("an X-Wing private key is a 32-byte seed")
    expanded = hashlib.shake_256(seed).digest(XWING_EXPANDED_LENGTH)
    return expanded[:64], expanded[64:]


class Suite(enum.StrEnum):
    """HPKE suites (KEM / KDF / AEAD). Names are what packet headers carry."""

    X25519 = "x25519-hkdfsha256-aes256gcm"
    MLKEM768_X25519 = "mlkem768x25519-hkdfsha256-aes256gcm"

    @property
    def ids(self) -> tuple[int, int, int]:
        """The RFC 9180 (KEM, KDF, AEAD) identifiers: X25519 0x0020, X-Wing 0x647A."""
        return (0x0020 if self is Suite.X25519 else 0x647A, 0x0001, 0x0002)

    def hpke(self) -> hpke.Suite:
        kem = hpke.KEM.X25519 if self is Suite.X25519 else hpke.KEM.MLKEM768_X25519
        return hpke.Suite(kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


PublicKey = x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey
PrivateKey = x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey


@dataclass(frozen=True)
class CentralPublicKey:
    """A key kiosks seal to."""

    key_id: str
    suite: Suite
    raw: bytes

    def key(self) -> PublicKey:
        if self.suite is Suite.X25519:
            return x25519.X25519PublicKey.from_public_bytes(self.raw)
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(self.raw[:1184]),
            x25519.X25519PublicKey.from_public_bytes(self.raw[1184:]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "suite": self.suite.value,
            "public_key_b64": base64.b64encode(self.raw).decode(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CentralPublicKey:
        return cls(
            str(data["key_id"]), Suite(data["suite"]), base64.b64decode(data["public_key_b64"])
        )


@dataclass(frozen=True)
class CentralPrivateKey:
    """A key central opens packets with."""

    key_id: str
    suite: Suite
    raw: bytes

    @classmethod
    def generate(cls, key_id: str, suite: Suite = Suite.X25519) -> CentralPrivateKey:
        if suite is Suite.X25519:
            return cls(key_id, suite, x25519.X25519PrivateKey.generate().private_bytes_raw())
        return cls(key_id, suite, os.urandom(XWING_SEED_LENGTH))

    def key(self) -> PrivateKey:
        if self.suite is Suite.X25519:
            return x25519.X25519PrivateKey.from_private_bytes(self.raw)
        ml_seed, x_key = expand_xwing_seed(self.raw)
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(ml_seed),
            x25519.X25519PrivateKey.from_private_bytes(x_key),
        )

    def public(self) -> CentralPublicKey:
        if self.suite is Suite.X25519:
            raw = (
                x25519.X25519PrivateKey.from_private_bytes(self.raw)
                .public_key()
                .public_bytes(_RAW, _RAW_PUB)
            )
        else:
            ml_seed, x_key = expand_xwing_seed(self.raw)
            ml = mlkem.MLKEM768PrivateKey.from_seed_bytes(ml_seed).public_key()
            xk = x25519.X25519PrivateKey.from_private_bytes(x_key).public_key()
            raw = ml.public_bytes(_RAW, _RAW_PUB) + xk.public_bytes(_RAW, _RAW_PUB)
        return CentralPublicKey(self.key_id, self.suite, raw)

    def to_json(self) -> dict[str, Any]:
        return {**self.public().to_json(), "private_key_b64": base64.b64encode(self.raw).decode()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CentralPrivateKey:
        return cls(
            str(data["key_id"]), Suite(data["suite"]), base64.b64decode(data["private_key_b64"])
        )


class CentralKeyring:
    """Central's private keys by key id; old keys stay during a rotation overlap."""

    def __init__(self, keys: list[CentralPrivateKey]) -> None:
        self._keys = {k.key_id: k for k in keys}

    def get(self, key_id: str) -> CentralPrivateKey:
        try:
            return self._keys[key_id]
        except KeyError:
            raise UnknownKeyId(f"no private key with key id {key_id!r}") from None

    def all(self) -> list[CentralPrivateKey]:
        return list(self._keys.values())

    @classmethod
    def load(cls, path: Path) -> CentralKeyring:
        """Read a key file of format 2 (or 1: X-Wing keys stored expanded)."""
        data = json.loads(path.read_text())
        if data.get("format", 1) not in (1, KEY_FILE_FORMAT):
            raise ValueError(f"{path}: key file format {data.get('format')} is not supported")
        keys = [CentralPrivateKey.from_json(item) for item in data["keys"]]
        for key in keys:
            key.public()  # a key of the wrong length or form fails here, at load
        return cls(keys)

    def save(self, path: Path) -> None:
        payload = {"format": KEY_FILE_FORMAT, "keys": [k.to_json() for k in self._keys.values()]}
        path.write_text(json.dumps(payload, indent=2))
        path.chmod(0o600)
