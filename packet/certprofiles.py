"""Certificate profiles: what a device, receipt-signer or central TLS certificate must carry.

The profiles are normative (docs/packet-format.md, section 8). Central's CA
issues by them (``central/device_ca.py``) and every verifier checks them
(:mod:`packet.trust`, :mod:`packet.receipts`, provisioning).

Private purposes live under an X.667 UUID arc (``2.25.<uuid>``), which needs no
registration: ``2.25.23318392264014480625033528474024621801`` is the AIMA CLAIM
arc; ``.1`` signs sealed packets, ``.2`` signs receipts, ``.3`` signs the day's
appointment list (:mod:`packet.daylist`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from packet.errors import ExtendedKeyUsageInvalid, KeyUsageInvalid, ProfileViolation

AIMA_ARC = "2.25.23318392264014480625033528474024621801"
PACKET_SIGNING = x509.ObjectIdentifier(f"{AIMA_ARC}.1")
RECEIPT_SIGNING = x509.ObjectIdentifier(f"{AIMA_ARC}.2")
DAY_LIST_SIGNING = x509.ObjectIdentifier(f"{AIMA_ARC}.3")

#: keyUsage bits an end-entity certificate must never carry.
_CA_BITS = ("key_cert_sign", "crl_sign")


@dataclass(frozen=True)
class CertificateProfile:
    """What an end-entity certificate needs for one purpose."""

    name: str
    key_usage: tuple[str, ...]  # required keyUsage bits (attribute names of x509.KeyUsage)
    extended_key_usage: x509.ObjectIdentifier  # the purpose that must be listed
    needs_device_id: bool = False  # subject serialNumber (= CN) names the device
    needs_san: bool = False


#: Signs sealed packets (the manifest). Issued together with TLS client auth.
DEVICE_SIGNING = CertificateProfile(
    "device-signing", ("digital_signature",), PACKET_SIGNING, needs_device_id=True
)
#: Authenticates the kiosk to central (mTLS client).
DEVICE_TLS_CLIENT = CertificateProfile(
    "device-tls-client", ("digital_signature",), ExtendedKeyUsageOID.CLIENT_AUTH, True
)
#: Signs central's receipts.
RECEIPT_SIGNER = CertificateProfile("receipt-signer", ("digital_signature",), RECEIPT_SIGNING)
#: Signs the day's appointment list of a site (``GetDayList``, docs/day-list.md).
DAY_LIST_SIGNER = CertificateProfile("day-list-signer", ("digital_signature",), DAY_LIST_SIGNING)
#: Central's TLS server certificate.
CENTRAL_TLS_SERVER = CertificateProfile(
    "central-tls-server", ("digital_signature",), ExtendedKeyUsageOID.SERVER_AUTH, needs_san=True
)


_E = TypeVar("_E", bound=x509.ExtensionType)


def _extension(cert: x509.Certificate, kind: type[_E]) -> _E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    except ValueError as exc:  # duplicate or undecodable extensions
        raise ProfileViolation(f"certificate extensions are malformed: {exc}") from None


def is_ca(cert: x509.Certificate) -> bool:
    """basicConstraints cA = TRUE, and keyCertSign when keyUsage is present."""
    constraints = _extension(cert, x509.BasicConstraints)
    if constraints is None or not constraints.ca:
        return False
    usage = _extension(cert, x509.KeyUsage)
    return usage is None or usage.key_cert_sign


def check_end_entity(cert: x509.Certificate, profile: CertificateProfile) -> None:
    """Raise a specific :class:`packet.errors.CertificateInvalid` unless ``cert`` fits."""
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ProfileViolation(f"{profile.name} certificate key is not ECDSA P-256")
    constraints = _extension(cert, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise ProfileViolation(f"{profile.name} certificate is a CA certificate")
    usage = _extension(cert, x509.KeyUsage)
    if usage is None:
        raise KeyUsageInvalid(f"{profile.name} certificate has no keyUsage")
    for bit in profile.key_usage:
        if not getattr(usage, bit):
            raise KeyUsageInvalid(f"{profile.name} certificate keyUsage lacks {bit}")
    for bit in _CA_BITS:
        if getattr(usage, bit):
            raise KeyUsageInvalid(f"{profile.name} certificate keyUsage holds {bit}")
    purposes = _extension(cert, x509.ExtendedKeyUsage)
    if purposes is None or profile.extended_key_usage not in list(purposes):
        wanted = profile.extended_key_usage.dotted_string
        raise ExtendedKeyUsageInvalid(f"{profile.name} certificate extendedKeyUsage lacks {wanted}")
    if profile.needs_device_id:
        device_id_of(cert)
    if profile.needs_san and _extension(cert, x509.SubjectAlternativeName) is None:
        raise ProfileViolation(f"{profile.name} certificate has no subjectAltName")


def device_id_of(cert: x509.Certificate) -> str:
    """The device id a device certificate names: its one subject serialNumber (= CN)."""
    serials = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if len(serials) != 1 or not isinstance(serials[0].value, str) or not serials[0].value:
        raise ProfileViolation("device certificate subject must hold exactly one serialNumber")
    device_id = serials[0].value
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if any(name.value != device_id for name in names):
        raise ProfileViolation("device certificate CN differs from its serialNumber")
    return device_id


def end_entity_key_usage() -> x509.KeyUsage:
    """keyUsage of every end-entity profile: digitalSignature only (critical)."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def ca_key_usage() -> x509.KeyUsage:
    """keyUsage of a device CA: keyCertSign and cRLSign (critical)."""
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
