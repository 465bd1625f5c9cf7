"""The simulated SBI device service's PKI: root CA -> device provider CA -> device key.

This mirrors the trust chain of the SBI specification: the adopter's root
approves a device provider, whose CA certifies each device key (rotated every
30 days by default in the field). The root is what a kiosk configures as its
trust anchor; every signed answer carries ``x5c = [device, provider]``.

Keys are RSA 2048 (RS256, what the specification names) or P-256 (ES256).
Nothing here is meant for production: keys live in memory, or in the
directory given to the simulator's command line.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from drivers.sbi.jws import SigningKey

logger = logging.getLogger(__name__)

KeyType = Literal["rsa", "ec"]
_ROOT_YEARS = 10


def new_key(key_type: KeyType) -> SigningKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CLAIM kiosk SBI simulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject: str,
    key: SigningKey,
    issuer: tuple[x509.Certificate, SigningKey] | None,
    *,
    ca: bool,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.Certificate:
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class DeviceCredentials:
    """The device key and the x5c chain that goes with it (leaf first)."""

    key: SigningKey
    chain: tuple[x509.Certificate, ...]


class SimulatedPki:
    """A root CA and a device-provider CA that certify device keys on demand."""

    def __init__(
        self,
        key_type: KeyType = "rsa",
        root: tuple[x509.Certificate, SigningKey] | None = None,
        *,
        name: str = "SBI simulator root",
    ) -> None:
        self.key_type = key_type
        now = dt.datetime.now(dt.UTC)
        if root is None:
            root_key = new_key(key_type)
            root_cert = _certificate(
                name,
                root_key,
                None,
                ca=True,
                not_before=now - dt.timedelta(days=1),
                not_after=now + dt.timedelta(days=365 * _ROOT_YEARS),
            )
            root = (root_cert, root_key)
        self.root_certificate, self._root_key = root
        self._provider_key = new_key(key_type)
        self._provider = _certificate(
            "SBI simulator device provider",
            self._provider_key,
            root,
            ca=True,
            not_before=now - dt.timedelta(days=1),
            not_after=now + dt.timedelta(days=365 * 2),
        )

    @property
    def root_pem(self) -> bytes:
        return self.root_certificate.public_bytes(serialization.Encoding.PEM)

    def issue_device(self, serial: str, *, expired: bool = False) -> DeviceCredentials:
        """A fresh device key; ``expired`` gives it a certificate that ended yesterday."""
        now = dt.datetime.now(dt.UTC)
        key = new_key(self.key_type)
        if expired:
            window = (now - dt.timedelta(days=31), now - dt.timedelta(days=1))
        else:
            window = (now - dt.timedelta(hours=1), now + dt.timedelta(days=30))
        leaf = _certificate(
            f"SBI device {serial}",
            key,
            (self._provider, self._provider_key),
            ca=False,
            not_before=window[0],
            not_after=window[1],
        )
        return DeviceCredentials(key, (leaf, self._provider))

    @classmethod
    def load_or_create(cls, directory: Path, key_type: KeyType = "rsa") -> SimulatedPki:
        """Keep the root in ``directory`` (``ca.pem`` is the kiosk's trust anchor)."""
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
        if cert_path.exists() and key_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_path} holds neither an RSA nor an EC key")
            kind: KeyType = "rsa" if isinstance(key, rsa.RSAPrivateKey) else "ec"
            return cls(kind, (cert, key))
        pki = cls(key_type)
        key_path.touch(mode=0o600)
        key_path.write_bytes(
            pki._root_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        cert_path.write_bytes(pki.root_pem)
        logger.info("SBI simulator: new root CA written to %s", cert_path)
        return pki
