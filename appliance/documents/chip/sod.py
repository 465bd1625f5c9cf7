"""EF.SOD (ICAO 9303-10 §4.6.2, 9303-12): CMS SignedData over an LDSSecurityObject."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from asn1crypto import algos, cms, core  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from drivers.emrtd.tlv import TlvError, unwrap

LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
MAX_SOD_BYTES = 64 * 1024
MAX_GROUPS = 16
_HASHES: dict[
    str, type[hashes.SHA1 | hashes.SHA224 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512]
] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class SodError(ValueError):
    """EF.SOD is malformed or uses something we do not support."""


class _DataGroupHash(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [("number", core.Integer), ("hash", core.OctetString)]  # noqa: RUF012


class _DataGroupHashes(core.SequenceOf):  # type: ignore[misc]  # asn1crypto is untyped
    _child_spec = _DataGroupHash


class LdsSecurityObject(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [  # noqa: RUF012
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("hashes", _DataGroupHashes),
        ("lds_version_info", core.Any, {"optional": True}),
    ]


@dataclass(frozen=True)
class Sod:
    """A parsed EF.SOD; nothing verified yet."""

    hash_algorithm: str
    group_hashes: dict[int, bytes]
    signer: x509.Certificate
    signed_bytes: bytes  # what the signature covers (signed attributes or eContent)
    signature: bytes
    signature_algorithm: str  # asn1crypto's signature_algo: rsassa_pkcs1v15, rsassa_pss, ecdsa
    signature_hash: str
    pss_salt: int | None
    message_digest_ok: bool

    def hash_of(self, data: bytes) -> bytes:
        return hashlib.new(self.hash_algorithm, data).digest()


def _signer_cert(signed: cms.SignedData, info: cms.SignerInfo) -> x509.Certificate:
    sid = info["sid"]
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            want = sid.chosen
            if cert.issuer == want["issuer"] and cert.serial_number == want["serial_number"].native:
                return x509.load_der_x509_certificate(cert.dump())
        elif cert.key_identifier == sid.chosen.native:
            return x509.load_der_x509_certificate(cert.dump())
    raise SodError("EF.SOD does not carry its document signer certificate")


def parse_sod(raw: bytes) -> Sod:
    if len(raw) > MAX_SOD_BYTES:
        raise SodError(f"EF.SOD of {len(raw)} bytes exceeds {MAX_SOD_BYTES}")
    try:
        info = cms.ContentInfo.load(unwrap(raw, 0x77))
        if info["content_type"].native != "signed_data":
            raise SodError("EF.SOD is not a CMS SignedData")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != LDS_SECURITY_OBJECT:
            raise SodError(f"EF.SOD content type {encap['content_type'].dotted} is not an LDS SO")
        content = encap["content"].contents
        lso = LdsSecurityObject.load(content)
        algorithm = lso["hash_algorithm"]["algorithm"].native
        if algorithm not in _HASHES:
            raise SodError(f"unsupported data group hash {algorithm}")
        entries = list(lso["hashes"])
        if not entries or len(entries) > MAX_GROUPS:
            raise SodError(f"EF.SOD lists {len(entries)} data group hashes")
        group_hashes = {int(e["number"].native): bytes(e["hash"].native) for e in entries}
        signer_infos = list(signed["signer_infos"])
        if len(signer_infos) != 1:
            raise SodError(f"EF.SOD has {len(signer_infos)} signer infos, ICAO requires one")
        signer_info = signer_infos[0]
        digest_name = signer_info["digest_algorithm"]["algorithm"].native
        if digest_name not in _HASHES:
            raise SodError(f"unsupported signature digest {digest_name}")
        attrs = signer_info["signed_attrs"]
        digest_ok = True
        if attrs.native is not None and len(attrs):
            signed_bytes = b"\x31" + attrs.dump()[1:]  # signed as a universal SET OF
            found = {a["type"].native: a["values"][0] for a in attrs}
            md = found.get("message_digest")
            ct = found.get("content_type")
            digest_ok = (
                md is not None
                and bytes(md.native) == hashlib.new(digest_name, content).digest()
                and ct is not None
                and ct.dotted == LDS_SECURITY_OBJECT
            )
        else:
            signed_bytes = content
        sig_alg = signer_info["signature_algorithm"]
        algo = sig_alg.signature_algo
        salt = None
        if algo == "rsassa_pss":
            params = sig_alg["parameters"]
            salt = int(params["salt_length"].native)
            digest_name = params["hash_algorithm"]["algorithm"].native
        return Sod(
            hash_algorithm=algorithm,
            group_hashes=group_hashes,
            signer=_signer_cert(signed, signer_info),
            signed_bytes=signed_bytes,
            signature=bytes(signer_info["signature"].native),
            signature_algorithm=algo,
            signature_hash=digest_name,
            pss_salt=salt,
            message_digest_ok=digest_ok,
        )
    except SodError:
        raise
    except (TlvError, ValueError, TypeError, KeyError) as exc:
        raise SodError(f"EF.SOD is malformed: {exc}") from exc


def signature_valid(sod: Sod) -> bool:
    """The CMS signature under the document signer's public key."""
    key = sod.signer.public_key()
    hash_cls = _HASHES.get(sod.signature_hash)
    if hash_cls is None:
        return False
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and sod.signature_algorithm == "ecdsa":
            key.verify(sod.signature, sod.signed_bytes, ec.ECDSA(hash_cls()))
        elif isinstance(key, rsa.RSAPublicKey) and sod.signature_algorithm == "rsassa_pss":
            salt = sod.pss_salt if sod.pss_salt is not None else hash_cls().digest_size
            pss = padding.PSS(padding.MGF1(hash_cls()), salt)
            key.verify(sod.signature, sod.signed_bytes, pss, hash_cls())
        elif isinstance(key, rsa.RSAPublicKey) and sod.signature_algorithm == "rsassa_pkcs1v15":
            key.verify(sod.signature, sod.signed_bytes, padding.PKCS1v15(), hash_cls())
        else:
            return False
    except InvalidSignature:
        return False
    return True
