"""Certificate checks on the verifying side: profile, path, validity, revocation.

:meth:`TrustStore.verify_chain` runs, in this order (docs/packet-format.md, section 8):

1. the end-entity profile (keyUsage, extendedKeyUsage, key type, subject);
2. a path walk from the leaf to a trust anchor through the presented
   intermediates, each issuer a CA (basicConstraints ``cA``, ``keyCertSign``)
   within its ``pathLenConstraint``; this gives the specific error codes;
3. validity of every certificate of the path at the reference time;
4. the authoritative path validation of ``cryptography.x509.verification``
   (RFC 5280 path building with the Web PKI CA profile) at the same time;
5. revocation: every CRL held for an issuer in the path must verify and be in
   force at the reference time, and must not list the certificate.

The reference time is the verifier's clock at verification unless the caller
passes another one (re-verifying an archived packet at its receipt's
``accepted_at``). A packet's own ``sealed_at`` is never used: it is asserted
by the key being checked.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509 import verification

from packet.certprofiles import DEVICE_SIGNING, CertificateProfile, check_end_entity, is_ca
from packet.errors import (
    CertificateExpired,
    CertificateInvalid,
    CertificateNotYetValid,
    CertificateRevoked,
    ChainUntrusted,
    CrlInvalid,
    IssuerNotCA,
    PathLengthExceeded,
    SignatureInvalid,
)

MAX_CHAIN = 5


@dataclass
class TrustStore:
    """Trust anchors (device CA roots) and the CRLs currently in force.

    With ``require_crl`` every issuer in a path must have a CRL here (fail
    closed when revocation information is missing).
    """

    roots: list[x509.Certificate]
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    require_crl: bool = False

    def verify_chain(
        self,
        chain: list[x509.Certificate],
        now: datetime | None = None,
        profile: CertificateProfile = DEVICE_SIGNING,
    ) -> list[x509.Certificate]:
        """Raise a specific :class:`CertificateInvalid` unless ``chain`` is trusted.

        ``chain`` is the leaf first, then intermediates; returns the validated
        path from the leaf to its trust anchor.
        """
        moment = now or datetime.now(UTC)
        if not chain or len(chain) > MAX_CHAIN:
            raise CertificateInvalid("empty or overlong certificate chain")
        check_end_entity(chain[0], profile)
        path = self._walk(chain)
        for position, cert in enumerate(path):
            _check_validity(cert, moment, "end-entity" if position == 0 else "CA")
        self._validate(chain, moment)
        self._check_revocation(path, moment)
        return path

    def _walk(self, chain: list[x509.Certificate]) -> list[x509.Certificate]:
        path = [chain[0]]
        spare = list(chain[1:])
        while len(path) <= MAX_CHAIN:
            current = path[-1]
            root = _issuer_among(current, self.roots)
            if root is not None:
                _check_ca(root, len(path) - 1)
                path.append(root)
                return path
            issuer = _issuer_among(current, spare)
            if issuer is None:
                raise ChainUntrusted(
                    f"certificate {current.serial_number:x} does not chain to a trusted CA"
                )
            spare.remove(issuer)
            _check_ca(issuer, len(path) - 1)
            path.append(issuer)
        raise ChainUntrusted("certificate path is too long")

    def _validate(self, chain: list[x509.Certificate], moment: datetime) -> None:
        verifier = (
            verification.PolicyBuilder()
            .store(verification.Store(self.roots))
            .time(moment)
            .max_chain_depth(MAX_CHAIN)
            .extension_policies(
                ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
                ee_policy=verification.ExtensionPolicy.permit_all(),
            )
            .build_client_verifier()
        )
        try:
            verifier.verify(chain[0], chain[1:])
        except verification.VerificationError as exc:
            raise CertificateInvalid(f"certificate path does not validate: {exc}") from None

    def _check_revocation(self, path: list[x509.Certificate], moment: datetime) -> None:
        for cert, issuer in itertools.pairwise(path):
            held = [crl for crl in self.crls if crl.issuer == issuer.subject]
            if not held and self.require_crl:
                raise CrlInvalid(f"no CRL is held for issuer {issuer.subject.rfc4514_string()}")
            for crl in held:
                if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                    raise CrlInvalid("a CRL does not verify with its issuer's key")
                # A CRL newer than the reference time is fine (more knowledge); one
                # past its nextUpdate is stale and stops the check (fail closed).
                if crl.next_update_utc is None or crl.next_update_utc < moment:
                    raise CrlInvalid("a CRL is past its nextUpdate at the reference time")
                revoked = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
                if revoked is not None and revoked.revocation_date_utc <= moment:
                    raise CertificateRevoked(f"certificate {cert.serial_number:x} is revoked")


def _issuer_among(
    cert: x509.Certificate, candidates: list[x509.Certificate]
) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate.subject != cert.issuer:
            continue
        try:
            cert.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None


def _check_ca(issuer: x509.Certificate, below: int) -> None:
    """``issuer`` signs a path with ``below`` intermediate CAs under it."""
    if not is_ca(issuer):
        raise IssuerNotCA(
            f"certificate {issuer.serial_number:x} issued another certificate but is not a CA"
        )
    constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    if constraints.path_length is not None and below > constraints.path_length:
        raise PathLengthExceeded(
            f"CA {issuer.serial_number:x} allows {constraints.path_length} intermediate(s) "
            f"below it, the path has {below}"
        )


def _check_validity(cert: x509.Certificate, moment: datetime, what: str) -> None:
    window = f"({cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d})"
    if moment > cert.not_valid_after_utc:
        raise CertificateExpired(f"{what} certificate {cert.serial_number:x} expired {window}")
    if moment < cert.not_valid_before_utc:
        raise CertificateNotYetValid(
            f"{what} certificate {cert.serial_number:x} is not valid yet {window}"
        )


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
