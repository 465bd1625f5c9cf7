"""Software device key: a PKCS#8 file, mode 0600, encrypted with a systemd credential.

The passphrase is never in the config: systemd passes it as a credential
(``LoadCredential=device-key-passphrase:...``) and the appliance reads it from
``$CREDENTIALS_DIRECTORY``. This backend is not hardware-backed; the production
profile refuses it unless ``security.allow_software_keys`` is set.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.durable import atomic_write

CREDENTIAL_NAME = "device-key-passphrase"


class KeyStoreError(Exception):
    """The device key cannot be loaded or created; the message says why."""


def credential_secret(name: str = CREDENTIAL_NAME, *, minimum: int = 16) -> bytes:
    """Read a systemd credential (``$CREDENTIALS_DIRECTORY/<name>``)."""
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        raise KeyStoreError(
            f"no systemd credentials: set LoadCredential={name}:... in the unit "
            "(or CREDENTIALS_DIRECTORY for a manual run)"
        )
    path = Path(directory) / name
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise KeyStoreError(f"credential {name!r} is not readable: {exc.strerror}") from None
    if len(secret) < minimum:
        raise KeyStoreError(f"credential {name!r} is too short (need at least {minimum} bytes)")
    return secret


class SoftwareDeviceKey:
    """An ECDSA P-256 key in an encrypted PKCS#8 PEM file."""

    backend = "software"
    hardware_backed = False

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        self._key = private_key

    @classmethod
    def create(cls, path: Path, secret: bytes) -> SoftwareDeviceKey:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(secret),
        )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(path, pem)
        return cls(key)

    @classmethod
    def load(cls, path: Path, secret: bytes) -> SoftwareDeviceKey:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            raise KeyStoreError(f"device key {path} does not exist: provision the device") from None
        if mode & 0o077:
            raise KeyStoreError(
                f"device key {path} is readable by others (mode {mode:o}); it must be 0600"
            )
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=secret)
        except (ValueError, TypeError):
            raise KeyStoreError(
                f"device key {path} cannot be decrypted with the credential"
            ) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyStoreError("device key is not an ECDSA key")
        return cls(key)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))

    def exchange(self, peer: ec.EllipticCurvePublicKey) -> bytes:
        """ECDH (P-256) shared secret with ``peer`` (encryption at rest, appliance.cases)."""
        return self._key.exchange(ec.ECDH(), peer)

    def private_key_for_csr(self) -> ec.EllipticCurvePrivateKey:
        return self._key
