"""Why a packet failed to open. Each failure has its own class and a stable ``code``."""

from __future__ import annotations


class PacketError(Exception):
    """Base class: the packet must not be accepted."""

    code = "packet_invalid"


class MalformedPacket(PacketError):
    code = "malformed"


class UnsupportedFormat(PacketError):
    code = "unsupported_format"


class UnknownKeyId(PacketError):
    code = "unknown_key_id"


class KeyUnwrapFailed(PacketError):
    """HPKE decapsulation failed: wrong key, or the header or wrapped key was altered."""

    code = "key_unwrap_failed"


class ChunkAuthFailed(PacketError):
    """A chunk failed authentication: altered, reordered or swapped."""

    code = "chunk_auth_failed"


class PacketTruncated(PacketError):
    code = "truncated"


class SignatureInvalid(PacketError):
    code = "signature_invalid"


class CertificateInvalid(PacketError):
    """The device certificate chain does not verify against the trust anchors."""

    code = "certificate_invalid"


class CertificateExpired(CertificateInvalid):
    """A certificate of the path is past its notAfter at the reference time."""

    code = "certificate_expired"


class CertificateNotYetValid(CertificateInvalid):
    """A certificate of the path is before its notBefore at the reference time."""

    code = "certificate_not_yet_valid"


class ChainUntrusted(CertificateInvalid):
    """No path from the certificate to a trust anchor (e.g. a chain to a foreign root)."""

    code = "chain_untrusted"


class IssuerNotCA(CertificateInvalid):
    """A certificate in the path was issued by a certificate that is not a CA.

    E.g. a certificate minted with a device key: basicConstraints absent or
    ``cA = FALSE``, or keyUsage without ``keyCertSign``.
    """

    code = "issuer_not_ca"


class PathLengthExceeded(CertificateInvalid):
    """More intermediate CAs below a CA than its basicConstraints pathLenConstraint allows."""

    code = "path_length_exceeded"


class KeyUsageInvalid(CertificateInvalid):
    """The end-entity keyUsage is missing, lacks a required bit or holds a forbidden one."""

    code = "key_usage_invalid"


class ExtendedKeyUsageInvalid(CertificateInvalid):
    """The end-entity extendedKeyUsage is missing or lacks the purpose the profile requires."""

    code = "eku_invalid"


class ProfileViolation(CertificateInvalid):
    """Any other departure from the certificate profile (key type, subject, CA flag)."""

    code = "certificate_profile"


class CrlInvalid(CertificateInvalid):
    """A CRL for an issuer in the path has a bad signature, or is not in force."""

    code = "crl_invalid"


class CertificateRevoked(CertificateInvalid):
    code = "certificate_revoked"


class DeviceMismatch(PacketError):
    """The header, the manifest and the signing certificate do not name the same device."""

    code = "device_mismatch"


class TimestampInvalid(MalformedPacket):
    """A manifest timestamp is not RFC 3339 UTC with millisecond precision."""

    code = "timestamp_invalid"


class ItemHashMismatch(PacketError):
    code = "item_hash_mismatch"


class ManifestMismatch(PacketError):
    """The items in the stream differ from the signed manifest (names, order, sizes)."""

    code = "manifest_mismatch"
