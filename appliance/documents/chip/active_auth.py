"""Active Authentication (ICAO 9303-11 §6.1): the chip signs our random challenge
with the private key whose public half is in DG15, proving it is not a copy.

ECDSA keys sign in the plain r||s format (BSI TR-03111) with the hash named by
DG14's ActiveAuthenticationInfo; RSA keys use ISO/IEC 9796-2 digital signature
scheme 1 (message recovery), with SHA-1 (trailer BC) or the hash named in the
two-byte trailer.
"""

from __future__ import annotations

import hashlib
import hmac

from asn1crypto import core  # type: ignore[import-untyped]
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_der_public_key

from drivers.emrtd.tlv import TlvError, unwrap

ACTIVE_AUTHENTICATION_INFO = "2.23.136.1.1.5"
CHIP_AUTHENTICATION_PREFIX = "0.4.0.127.0.7.2.2.3."
_PLAIN_ECDSA = {
    "0.4.0.127.0.7.1.1.4.1.1": hashes.SHA1,
    "0.4.0.127.0.7.1.1.4.1.2": hashes.SHA224,
    "0.4.0.127.0.7.1.1.4.1.3": hashes.SHA256,
    "0.4.0.127.0.7.1.1.4.1.4": hashes.SHA384,
    "0.4.0.127.0.7.1.1.4.1.5": hashes.SHA512,
}
#: ISO/IEC 10118-3 hash identifiers used in the ISO/IEC 9796-2 trailer "xx CC".
_TRAILER_HASH = {0x33: "sha1", 0x34: "sha256", 0x35: "sha512", 0x36: "sha384", 0x38: "sha224"}
MAX_DG14_INFOS = 32


class _SecurityInfo(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [  # noqa: RUF012
        ("protocol", core.ObjectIdentifier),
        ("required", core.Any),
        ("optional", core.Any, {"optional": True}),
    ]


class _SecurityInfos(core.SetOf):  # type: ignore[misc]  # asn1crypto is untyped
    _child_spec = _SecurityInfo


def security_infos(dg14: bytes) -> list[tuple[str, core.Any, core.Any | None]]:
    """(protocol OID, required data, optional data) of each SecurityInfo in DG14."""
    try:
        infos = _SecurityInfos.load(unwrap(dg14, 0x6E))
        out = []
        for i, info in enumerate(infos):
            if i >= MAX_DG14_INFOS:
                raise ValueError("DG14 lists too many SecurityInfos")
            optional = info["optional"] if info["optional"].contents else None
            out.append((info["protocol"].dotted, info["required"], optional))
        return out
    except (TlvError, TypeError, KeyError) as exc:
        raise ValueError(f"DG14 is malformed: {exc}") from exc


def offers_chip_authentication(dg14: bytes) -> bool:
    return any(oid.startswith(CHIP_AUTHENTICATION_PREFIX) for oid, _r, _o in security_infos(dg14))


def _aa_hash(dg14: bytes | None) -> type[hashes.HashAlgorithm] | None:
    if dg14 is None:
        return None
    for oid, _required, optional in security_infos(dg14):
        if oid == ACTIVE_AUTHENTICATION_INFO and optional is not None:
            algorithm = core.ObjectIdentifier.load(optional.dump()).dotted
            return _PLAIN_ECDSA.get(algorithm)
    return None


def _verify_iso9796_2(key: rsa.RSAPublicKey, challenge: bytes, signature: bytes) -> str:
    numbers = key.public_numbers()
    k = (numbers.n.bit_length() + 7) // 8
    s = int.from_bytes(signature, "big")
    if not 0 < s < numbers.n:
        return "failed: signature out of range"
    f_int = pow(s, numbers.e, numbers.n)
    if f_int & 0xF != 0xC:  # ISO/IEC 9796-2 allows n - f when f is not ...C
        f_int = numbers.n - f_int
    f = f_int.to_bytes(k, "big")
    if f[0] & 0xC0 != 0x40:
        return "failed: ISO/IEC 9796-2 header"
    if f[-1] == 0xBC:
        name, trailer = "sha1", 1
    elif f[-1] == 0xCC and f[-2] in _TRAILER_HASH:
        name, trailer = _TRAILER_HASH[f[-2]], 2
    else:
        return "failed: ISO/IEC 9796-2 trailer"
    size = hashlib.new(name).digest_size
    m1 = f[1 : k - size - trailer]
    digest = f[k - size - trailer : k - trailer]
    expected = hashlib.new(name, m1 + challenge).digest()
    return "passed" if hmac.compare_digest(digest, expected) else "failed: signature"


def verify_active_auth(dg15: bytes, dg14: bytes | None, challenge: bytes, signature: bytes) -> str:
    """'passed' or 'failed: why'."""
    if not signature:
        return "failed: the chip refused INTERNAL AUTHENTICATE"
    try:
        key = load_der_public_key(unwrap(dg15, 0x6F))
    except (TlvError, ValueError) as exc:
        return f"failed: DG15 holds no usable public key ({exc})"
    if isinstance(key, rsa.RSAPublicKey):
        return _verify_iso9796_2(key, challenge, signature)
    if isinstance(key, ec.EllipticCurvePublicKey):
        try:
            hash_cls = _aa_hash(dg14)
        except ValueError as exc:
            return f"failed: {exc}"
        if hash_cls is None:
            return "failed: ECDSA Active Authentication needs its algorithm in DG14"
        half = len(signature) // 2
        if len(signature) % 2 or half == 0:
            return "failed: malformed plain ECDSA signature"
        der = encode_dss_signature(
            int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
        )
        try:
            key.verify(der, challenge, ec.ECDSA(hash_cls()))
        except InvalidSignature:
            return "failed: signature"
        return "passed"
    return f"failed: unsupported DG15 key type {type(key).__name__}"
