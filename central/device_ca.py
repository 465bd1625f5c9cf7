"""A small device CA for the reference receiver, the demo and tests.

Production central services run their own PKI; this one issues device
certificates from enrolment CSRs, revokes them and publishes a CRL. Every
certificate follows the profiles of :mod:`packet.certprofiles`
(docs/packet-format.md, section 8):

- device CA (self-signed root): basicConstraints cA, pathLen 0, critical;
  keyUsage keyCertSign + cRLSign, critical; subjectKeyIdentifier;
- device: keyUsage digitalSignature (critical); extendedKeyUsage clientAuth and
  AIMA packet-signing; subject serialNumber = CN = device id; basicConstraints
  cA FALSE (critical); AKI/SKI;
- central server: keyUsage digitalSignature; extendedKeyUsage serverAuth (and
  AIMA receipt-signing, because the reference receiver signs receipts with its
  TLS key); subjectAltName;
- receipt signer (a dedicated key, for services that separate them): keyUsage
  digitalSignature; extendedKeyUsage AIMA receipt-signing;
- day-list signer (always a dedicated key): keyUsage digitalSignature;
  extendedKeyUsage AIMA day-list signing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from packet.certprofiles import (
    DAY_LIST_SIGNING,
    PACKET_SIGNING,
    RECEIPT_SIGNING,
    ca_key_usage,
    end_entity_key_usage,
)

_PEM = serialization.Encoding.PEM


@dataclass
class DeviceCA:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    revoked: dict[int, dt.datetime] = field(default_factory=dict)

    @classmethod
    def create(cls, name: str = "AIMA Device CA (test)", days: int = 3650) -> DeviceCA:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(ca_key_usage(), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    def issue(
        self,
        public_key: ec.EllipticCurvePublicKey,
        device_id: str,
        *,
        days: int = 365,
        not_before: dt.datetime | None = None,
    ) -> x509.Certificate:
        start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "AIMA CLAIM kiosk"),
                x509.NameAttribute(NameOID.SERIAL_NUMBER, device_id),
                x509.NameAttribute(NameOID.COMMON_NAME, device_id),
            ]
        )
        return (
            self._end_entity(subject, public_key, start, days)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, PACKET_SIGNING]),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )

    def _end_entity(
        self,
        subject: x509.Name,
        public_key: ec.EllipticCurvePublicKey,
        start: dt.datetime,
        days: int,
    ) -> x509.CertificateBuilder:
        """What every end-entity certificate of this CA carries."""
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(end_entity_key_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )

    def issue_server(
        self, hosts: list[str], *, days: int = 825
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """A TLS server (and receipt-signing) certificate for the central receiver."""
        import ipaddress

        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
        cert = (
            self._end_entity(subject, key.public_key(), start, days)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, RECEIPT_SIGNING]),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        return key, cert

    def issue_receipt_signer(
        self, name: str = "AIMA central receipts", *, days: int = 825
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """A dedicated receipt-signing key and certificate (no TLS purpose)."""
        key = ec.generate_private_key(ec.SECP256R1())
        start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            self._end_entity(subject, key.public_key(), start, days)
            .add_extension(x509.ExtendedKeyUsage([RECEIPT_SIGNING]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return key, cert

    def issue_day_list_signer(
        self, name: str = "AIMA central day lists", *, days: int = 825
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """The key and certificate that sign sites' day lists (profile day-list-signer)."""
        key = ec.generate_private_key(ec.SECP256R1())
        start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            self._end_entity(subject, key.public_key(), start, days)
            .add_extension(x509.ExtendedKeyUsage([DAY_LIST_SIGNING]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return key, cert

    def issue_from_csr(self, csr_der: bytes, device_id: str, days: int = 365) -> x509.Certificate:
        csr = x509.load_der_x509_csr(csr_der)
        if not csr.is_signature_valid:
            raise ValueError("CSR signature is invalid")
        key = csr.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise ValueError("device keys must be ECDSA P-256")
        return self.issue(key, device_id, days=days)

    def revoke(self, serial: int) -> None:
        self.revoked[serial] = dt.datetime.now(dt.UTC)

    def crl(self) -> x509.CertificateRevocationList:
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now - dt.timedelta(minutes=1))
            .next_update(now + dt.timedelta(days=7))
        )
        for serial, when in self.revoked.items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            )
        return builder.sign(self.key, hashes.SHA256())

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_path = directory / "ca-key.pem"
        key_path.write_bytes(
            self.key.private_bytes(
                _PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_path.chmod(0o600)
        (directory / "ca.pem").write_bytes(self.certificate.public_bytes(_PEM))
        (directory / "revoked.json").write_text(
            json.dumps({str(k): v.isoformat() for k, v in self.revoked.items()})
        )

    @classmethod
    def load(cls, directory: Path) -> DeviceCA:
        key = serialization.load_pem_private_key((directory / "ca-key.pem").read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
        revoked_path = directory / "revoked.json"
        revoked = {}
        if revoked_path.exists():
            revoked = {
                int(k): dt.datetime.fromisoformat(v)
                for k, v in json.loads(revoked_path.read_text()).items()
            }
        return cls(key, cert, revoked)
