"""Central's encryption keys (HPKE) with key ids, for sealing and for opening.

A public key file is JSON: ``{"key_id", "suite", "public_key_b64"}``; the
private side adds ``"private_key_b64"`` (X25519: 32 raw bytes; ML-KEM-768 +
X25519: the 64-byte ML-KEM seed followed by the 32-byte X25519 key).
"""

from __future__ import annotations

import base64
import enum
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


class Suite(enum.StrEnum):
    """HPKE suites (KEM / KDF / AEAD). Names are what packet headers carry."""

    X25519 = "x25519-hkdfsha256-aes256gcm"
    MLKEM768_X25519 = "mlkem768x25519-hkdfsha256-aes256gcm"

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
        return cls(
            key_id, suite, os.urandom(64) + x25519.X25519PrivateKey.generate().private_bytes_raw()
        )

    def key(self) -> PrivateKey:
        if self.suite is Suite.X25519:
            return x25519.X25519PrivateKey.from_private_bytes(self.raw)
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(self.raw[:64]),
            x25519.X25519PrivateKey.from_private_bytes(self.raw[64:]),
        )

    def public(self) -> CentralPublicKey:
        if self.suite is Suite.X25519:
            raw = (
                x25519.X25519PrivateKey.from_private_bytes(self.raw)
                .public_key()
                .public_bytes(_RAW, _RAW_PUB)
            )
        else:
            ml = mlkem.MLKEM768PrivateKey.from_seed_bytes(self.raw[:64]).public_key()
            xk = x25519.X25519PrivateKey.from_private_bytes(self.raw[64:]).public_key()
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
        data = json.loads(path.read_text())
        return cls([CentralPrivateKey.from_json(item) for item in data["keys"]])

    def save(self, path: Path) -> None:
        payload = {"keys": [k.to_json() for k in self._keys.values()]}
        path.write_text(json.dumps(payload, indent=2))
        path.chmod(0o600)
