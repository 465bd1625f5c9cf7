"""Build an eMRTD's LDS files from test data: EF.COM, DG1, DG2, DG14, DG15, EF.SOD.

The structures follow ICAO 9303-10 (LDS) and 9303-11/12 (security objects);
DG2 holds an ISO/IEC 19794-5:2005 facial record with a JPEG or JPEG 2000 image.
EF.SOD is a CMS SignedData over an LDSSecurityObject, signed by the document
signer passed in (tests make it with :mod:`.pki`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from asn1crypto import algos, cms, core, keys  # type: ignore[import-untyped]
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from drivers.sim.emrtd.pki import Issuer

LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
CSCA_MASTER_LIST = "2.23.136.1.1.2"
ACTIVE_AUTHENTICATION = "2.23.136.1.1.5"
ECDSA_PLAIN_SHA256 = "0.4.0.127.0.7.1.1.4.1.3"
PACE_ECDH_GM_AES_128 = "0.4.0.127.0.7.2.2.4.2.2"


def tlv(tag: int, value: bytes) -> bytes:
    size = len(value)
    if size < 0x80:
        length = bytes((size,))
    elif size < 0x100:
        length = bytes((0x81, size))
    elif size < 0x10000:
        length = bytes((0x82,)) + size.to_bytes(2, "big")
    else:
        length = bytes((0x83,)) + size.to_bytes(3, "big")
    return tag.to_bytes((tag.bit_length() + 7) // 8, "big") + length + value


class _DataGroupHash(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [("number", core.Integer), ("hash", core.OctetString)]  # noqa: RUF012


class _DataGroupHashes(core.SequenceOf):  # type: ignore[misc]  # asn1crypto is untyped
    _child_spec = _DataGroupHash


class _LdsSecurityObject(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [  # noqa: RUF012
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("hashes", _DataGroupHashes),
    ]


class _Certificates(core.SetOf):  # type: ignore[misc]  # asn1crypto is untyped
    _child_spec = asn1_x509.Certificate


class _MasterList(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [("version", core.Integer), ("certs", _Certificates)]  # noqa: RUF012


class _AaInfo(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [  # noqa: RUF012
        ("protocol", core.ObjectIdentifier),
        ("version", core.Integer),
        ("algorithm", core.ObjectIdentifier),
    ]


class _PaceInfo(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [  # noqa: RUF012
        ("protocol", core.ObjectIdentifier),
        ("version", core.Integer),
        ("parameter_id", core.Integer),
    ]


@dataclass
class Holder:
    """Test personal data of a synthetic document holder."""

    document_number: str = "L898902C3"
    date_of_birth: str = "740812"
    date_of_expiry: str = "340415"
    surname: str = "ERIKSSON"
    given_names: str = "ANNA MARIA"
    nationality: str = "UTO"
    issuer: str = "UTO"
    sex: str = "F"
    document_code: str = "P<"
    optional: str = "ZE184226B"


def _cd(field_: str) -> str:
    weights = (7, 3, 1)
    total = 0
    for i, ch in enumerate(field_):
        value = int(ch) if ch.isdigit() else (0 if ch == "<" else ord(ch) - ord("A") + 10)
        total += value * weights[i % 3]
    return str(total % 10)


def td3_mrz(h: Holder) -> str:
    """The two 44-character lines of a passport MRZ (ICAO 9303-4), joined."""
    name = f"{h.surname}<<{h.given_names.replace(' ', '<')}"
    line1 = f"{h.document_code}{h.issuer}{name}".ljust(44, "<")[:44]
    number = h.document_number.ljust(9, "<")
    optional = h.optional.ljust(14, "<")
    body = (
        number + _cd(number) + h.nationality + h.date_of_birth + _cd(h.date_of_birth) + h.sex
        + h.date_of_expiry + _cd(h.date_of_expiry) + optional + _cd(optional)
    )  # fmt: skip
    composite = body[0:10] + body[13:20] + body[21:43]
    return line1 + body + _cd(composite)


def dg1(mrz: str) -> bytes:
    return tlv(0x61, tlv(0x5F1F, mrz.encode("ascii")))


def face_record(image: bytes, width: int, height: int, *, jpeg2000: bool) -> bytes:
    """An ISO/IEC 19794-5:2005 record with one full-frontal face image."""
    facial_header = (
        b"\x00\x00\x00\x00"  # block length, patched below
        + b"\x00\x00"  # feature points
        + b"\x00\x00\x00"  # gender, eye colour, hair colour: unspecified
        + b"\x00\x00\x00"  # feature mask
        + b"\x00\x00"  # expression
        + b"\x00\x00\x00\x00\x00\x00"  # pose angles and their uncertainty
    )
    image_info = (
        b"\x01"  # face image type: full frontal
        + (b"\x01" if jpeg2000 else b"\x00")  # image data type
        + width.to_bytes(2, "big")
        + height.to_bytes(2, "big")
        + b"\x01"  # colour space sRGB
        + b"\x02"  # source type: static photo, digital camera
        + b"\x00\x00"  # device type
        + b"\x00\x00"  # quality
    )
    block = facial_header + image_info + image
    block = len(block).to_bytes(4, "big") + block[4:]
    total = 14 + len(block)
    return b"FAC\x00" + b"010\x00" + total.to_bytes(4, "big") + b"\x00\x01" + block


def dg2(record: bytes) -> bytes:
    header = (
        tlv(0x80, b"\x01\x01")
        + tlv(0x81, b"\x02")
        + tlv(0x87, b"\x01\x01")
        + tlv(0x88, b"\x00\x08")
    )
    instance = tlv(0x7F60, tlv(0xA1, header) + tlv(0x5F2E, record))
    return tlv(0x75, tlv(0x7F61, tlv(0x02, b"\x01") + instance))


def dg15(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return tlv(
        0x6F,
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def dg14_aa_info() -> bytes:
    info = _AaInfo(
        {"protocol": ACTIVE_AUTHENTICATION, "version": 1, "algorithm": ECDSA_PLAIN_SHA256}
    )
    return tlv(0x6E, tlv(0x31, info.dump()))


def card_access_pace() -> bytes:
    info = _PaceInfo({"protocol": PACE_ECDH_GM_AES_128, "version": 2, "parameter_id": 13})
    return tlv(0x31, info.dump())


def ef_com(groups: list[int]) -> bytes:
    tags = {1: 0x61, 2: 0x75, 11: 0x6B, 12: 0x6C, 14: 0x6E, 15: 0x6F}
    return tlv(
        0x60,
        tlv(0x5F01, b"0107") + tlv(0x5F36, b"040000") + tlv(0x5C, bytes(tags[g] for g in groups)),
    )


def sign_cms(content_type: str, content: bytes, signer: Issuer) -> bytes:
    """A CMS SignedData (RFC 5652) over ``content`` with signed attributes, ECDSA-SHA256."""
    digest = hashlib.sha256(content).digest()
    attrs = cms.CMSAttributes(
        [
            {"type": "content_type", "values": [content_type]},
            {"type": "message_digest", "values": [digest]},
        ]
    )
    signature = signer.key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
    cert = asn1_x509.Certificate.load(signer.certificate.public_bytes(serialization.Encoding.DER))
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": cert.issuer,
                        "serial_number": cert.serial_number,
                    }
                }
            ),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": attrs,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": signature,
        }
    )
    signed = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {
                "content_type": content_type,
                "content": core.ParsableOctetString(content),
            },
            "certificates": [cert],
            "signer_infos": [signer_info],
        }
    )
    encoded: bytes = cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()
    return encoded


def sod(groups: dict[int, bytes], signer: Issuer) -> bytes:
    lso = _LdsSecurityObject(
        {
            "version": 0,
            "hash_algorithm": {"algorithm": "sha256"},
            "hashes": [
                {"number": n, "hash": hashlib.sha256(data).digest()}
                for n, data in sorted(groups.items())
            ],
        }
    )
    return tlv(0x77, sign_cms(LDS_SECURITY_OBJECT, lso.dump(), signer))


def master_list(cscas: list[Issuer], signer: Issuer) -> bytes:
    """An ICAO CSCA master list (9303-12 §9) signed by ``signer``."""
    certs = [
        asn1_x509.Certificate.load(c.certificate.public_bytes(serialization.Encoding.DER))
        for c in cscas
    ]
    return sign_cms(CSCA_MASTER_LIST, _MasterList({"version": 0, "certs": certs}).dump(), signer)


def subject_public_key_info(key: ec.EllipticCurvePublicKey) -> keys.PublicKeyInfo:
    return keys.PublicKeyInfo.load(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


@dataclass
class ChipFiles:
    """Every file of one emulated chip, by file id."""

    files: dict[int, bytes] = field(default_factory=dict)
    aa_key: ec.EllipticCurvePrivateKey | None = None
    mrz: str = ""


def build_chip(
    holder: Holder,
    portrait: bytes,
    size: tuple[int, int],
    signer: Issuer,
    *,
    jpeg2000: bool = True,
    active_auth: bool = True,
    offer_pace: bool = False,
    mrz_override: str | None = None,
) -> ChipFiles:
    """The complete LDS: DG1 from ``holder`` (or ``mrz_override``), DG2 from ``portrait``."""
    mrz = mrz_override or td3_mrz(holder)
    groups: dict[int, bytes] = {
        1: dg1(mrz),
        2: dg2(face_record(portrait, *size, jpeg2000=jpeg2000)),
    }
    aa_key = None
    if active_auth:
        aa_key = ec.generate_private_key(ec.SECP256R1())
        groups[14] = dg14_aa_info()
        groups[15] = dg15(aa_key.public_key())
    fids = {1: 0x0101, 2: 0x0102, 14: 0x010E, 15: 0x010F}
    files = {fids[n]: data for n, data in groups.items()}
    files[0x011E] = ef_com(sorted(groups))
    files[0x011D] = sod(groups, signer)
    if offer_pace:
        files[0x011C] = card_access_pace()
    return ChipFiles(files, aa_key, mrz)
