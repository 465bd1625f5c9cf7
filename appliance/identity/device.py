"""The device identity used for sealing: key + certificate chain + device id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class DeviceKey(Protocol):
    backend: str
    hardware_backed: bool

    def sign(self, data: bytes) -> bytes: ...

    def public_key(self) -> ec.EllipticCurvePublicKey: ...


@dataclass(frozen=True)
class DeviceIdentity:
    """Implements :class:`packet.seal.DeviceSigner`."""

    key: DeviceKey
    chain: tuple[x509.Certificate, ...]

    @property
    def device_id(self) -> str:
        values = self.chain[0].subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
        return str(values[0].value) if values else self.chain[0].subject.rfc4514_string()

    @property
    def certificate_chain_der(self) -> tuple[bytes, ...]:
        return tuple(c.public_bytes(serialization.Encoding.DER) for c in self.chain)

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)


def build_csr(key: ec.EllipticCurvePrivateKey, site_id: str, kiosk_name: str) -> bytes:
    """PKCS#10 CSR (DER) for enrolment; central assigns the device id."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "AIMA CLAIM kiosk"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, site_id),
            x509.NameAttribute(NameOID.COMMON_NAME, kiosk_name),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.DER)
