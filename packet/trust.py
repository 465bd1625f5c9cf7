"""Device certificate checks on the opening side: chain, validity, revocation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from packet.errors import (
    CertificateExpired,
    CertificateInvalid,
    CertificateRevoked,
    SignatureInvalid,
)

MAX_CHAIN = 5


@dataclass
class TrustStore:
    """Trust anchors (device CA roots) and the CRLs currently in force."""

    roots: list[x509.Certificate]
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)

    def verify_chain(self, chain: list[x509.Certificate], now: datetime | None = None) -> None:
        """Raise a :class:`CertificateInvalid` subclass unless ``chain`` is trusted now."""
        moment = now or datetime.now(UTC)
        if not chain or len(chain) > MAX_CHAIN:
            raise CertificateInvalid("empty or overlong certificate chain")
        path = list(chain)
        for position, cert in enumerate(path):
            if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
                what = "device certificate" if position == 0 else "CA certificate"
                raise CertificateExpired(
                    f"{what} {cert.serial_number:x} is outside its validity period "
                    f"({cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d})"
                )
            issuer = self._issuer_of(cert, path[position + 1 :])
            if issuer is None:
                raise CertificateInvalid(
                    f"certificate {cert.serial_number:x} does not chain to a trusted device CA"
                )
            self._check_revocation(cert, issuer)
            if issuer in self.roots:
                return
        raise CertificateInvalid("certificate chain does not reach a trusted device CA")

    def _issuer_of(
        self, cert: x509.Certificate, rest: list[x509.Certificate]
    ) -> x509.Certificate | None:
        for candidate in [*rest[:1], *self.roots]:
            if candidate.subject != cert.issuer:
                continue
            try:
                cert.verify_directly_issued_by(candidate)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return candidate
        return None

    def _check_revocation(self, cert: x509.Certificate, issuer: x509.Certificate) -> None:
        for crl in self.crls:
            if crl.issuer != issuer.subject or not crl.is_signature_valid(
                issuer.public_key()  # type: ignore[arg-type]
            ):
                continue
            if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
                raise CertificateRevoked(f"certificate {cert.serial_number:x} is revoked")


def verify_signature(cert: x509.Certificate, signature: bytes, data: bytes) -> None:
    """Verify a device signature (ECDSA P-256/SHA-256 DER, or Ed25519)."""
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            raise SignatureInvalid("device key type is not ECDSA P-256 or Ed25519")
    except InvalidSignature:
        raise SignatureInvalid("manifest signature does not verify") from None
