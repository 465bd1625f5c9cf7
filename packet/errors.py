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
    code = "certificate_expired"


class CertificateRevoked(CertificateInvalid):
    code = "certificate_revoked"


class ItemHashMismatch(PacketError):
    code = "item_hash_mismatch"


class ManifestMismatch(PacketError):
    """The items in the stream differ from the signed manifest (names, order, sizes)."""

    code = "manifest_mismatch"
