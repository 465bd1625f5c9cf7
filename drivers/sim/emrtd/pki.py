"""A throw-away test PKI: a country signing CA (CSCA) and document signers (DS).

Generated on demand with ``cryptography``'s X.509 builders, never stored in the
repository. Shapes follow ICAO 9303-12 (key usage, validity, extensions).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Issuer:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _name(country: str, common_name: str, serial: str = "") -> x509.Name:
    parts = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, country),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Issuing Authority"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if serial:
        parts.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    return x509.Name(parts)


def make_csca(
    country: str = "UT", *, name: str = "CSCA Test", now: dt.datetime | None = None
) -> Issuer:
    """A self-signed CSCA certificate, valid from a year ago for 15 years."""
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP384R1())
    subject = _name(country, name)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - 365 * _DAY)
        .not_valid_after(now + 15 * 365 * _DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA384())
    )
    return Issuer(cert, key)


def make_document_signer(
    csca: Issuer,
    *,
    name: str = "DS Test",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> Issuer:
    """A document signer issued by ``csca`` (P-256, digitalSignature only)."""
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    country = csca.certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value
    csca_ski = csca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(str(country), name, "001"))
        .issuer_name(csca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - 30 * _DAY)
        .not_valid_after(not_after or now + (10 * 365 + 90) * _DAY)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(csca_ski.value),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(csca.key, hashes.SHA384())
    )
    return Issuer(cert, key)


def make_crl(csca: Issuer, revoked: list[x509.Certificate]) -> x509.CertificateRevocationList:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(csca.certificate.subject)
        .last_update(now - _DAY)
        .next_update(now + 90 * _DAY)
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(now - _DAY)
            .build()
        )
    return builder.sign(csca.key, hashes.SHA384())
