"""Negative corpus for packet trust: each hostile packet is refused with its own error code.

The corpus is generated here, one sealed packet per case, with certificates
built by hand so that each departs from docs/packet-format.md section 8 in
exactly one way. Every packet is also written to ``tmp_path`` so a failing run
leaves the corpus for inspection.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from central.device_ca import DeviceCA
from packet.certprofiles import PACKET_SIGNING, RECEIPT_SIGNING, end_entity_key_usage
from packet.errors import (
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRevoked,
    ChainUntrusted,
    CrlInvalid,
    DeviceMismatch,
    ExtendedKeyUsageInvalid,
    IssuerNotCA,
    KeyUsageInvalid,
    PacketError,
    PathLengthExceeded,
    ProfileViolation,
)
from packet.keys import CentralKeyring, CentralPrivateKey
from packet.manifest import EnrolmentMeta
from packet.open import MemorySink, open_packet
from packet.receipts import ReceiptInvalid, sign_receipt, verify_receipt
from packet.seal import ItemSource, seal_packet
from packet.trust import TrustStore

NOW = dt.datetime.now(dt.UTC)
META = EnrolmentMeta("CLAIM-T", "op-1", "CASE-1", "0.1.0", "2026-11-23T10:00:00.000Z")


@dataclass
class Signer:
    """A device signer whose claimed device id may differ from its certificate."""

    key: ec.EllipticCurvePrivateKey
    chain: list[x509.Certificate]
    claimed_id: str

    @property
    def device_id(self) -> str:
        return self.claimed_id

    @property
    def certificate_chain_der(self) -> tuple[bytes, ...]:
        return tuple(c.public_bytes(serialization.Encoding.DER) for c in self.chain)

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


def _name(device_id: str, cn: str | None = None) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, device_id),
            x509.NameAttribute(NameOID.COMMON_NAME, cn or device_id),
        ]
    )


def _cert(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool | None = False,
    path_length: int | None = None,
    key_usage: x509.KeyUsage | None = None,
    eku: list[x509.ObjectIdentifier] | None = None,
    start: dt.datetime = NOW - dt.timedelta(days=1),
    days: int = 365,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca, path_length), True)
    if key_usage is not None:
        builder = builder.add_extension(key_usage, True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), False)
    return builder.sign(issuer_key, hashes.SHA256())


def _usage(**bits: bool) -> x509.KeyUsage:
    fields = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    return x509.KeyUsage(**(fields | bits))


DEVICE_EKU = [ExtendedKeyUsageOID.CLIENT_AUTH, PACKET_SIGNING]


@dataclass
class World:
    ca: DeviceCA
    central: CentralPrivateKey

    def device(self, device_id: str = "dev-0001", **kwargs: object) -> Signer:
        key = ec.generate_private_key(ec.SECP256R1())
        options: dict[str, object] = {"key_usage": end_entity_key_usage(), "eku": DEVICE_EKU}
        options |= kwargs
        cert = _cert(
            _name(device_id),
            key,
            self.ca.certificate.subject,
            self.ca.key,
            **options,  # type: ignore[arg-type]
        )
        return Signer(key, [cert], device_id)

    def seal(self, signer: Signer) -> bytes:
        out = io.BytesIO()
        seal_packet(
            out,
            [ItemSource("face.jpg", "face", "image/jpeg", b"\xff\xd8\xff synthetic")],
            signer=signer,
            central_key=self.central.public(),
            meta=META,
            chunk_size=1024,
        )
        return out.getvalue()

    def open(self, data: bytes, trust: TrustStore | None = None) -> None:
        open_packet(
            io.BytesIO(data),
            CentralKeyring([self.central]),
            trust or TrustStore([self.ca.certificate]),
            MemorySink(),
        )


@pytest.fixture(scope="module")
def world() -> World:
    return World(DeviceCA.create(), CentralPrivateKey.generate("central-1"))


def _forged_device_id(w: World) -> tuple[bytes, TrustStore | None]:
    signer = w.device("dev-attacker")
    signer.claimed_id = "dev-victim"  # header and manifest claim the victim
    return w.seal(signer), None


def _device_minted(w: World) -> tuple[bytes, TrustStore | None]:
    device = w.device("dev-0001")
    minted_key = ec.generate_private_key(ec.SECP256R1())
    minted = _cert(
        _name("dev-victim"),
        minted_key,
        device.chain[0].subject,
        device.key,
        key_usage=end_entity_key_usage(),
        eku=DEVICE_EKU,
    )
    return w.seal(Signer(minted_key, [minted, device.chain[0]], "dev-victim")), None


def _path_too_long(w: World) -> tuple[bytes, TrustStore | None]:
    sub_key = ec.generate_private_key(ec.SECP256R1())
    sub_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sub CA")])
    sub = _cert(
        sub_name,
        sub_key,
        w.ca.certificate.subject,
        w.ca.key,
        ca=True,
        path_length=0,
        key_usage=_usage(key_cert_sign=True, crl_sign=True),
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert(
        _name("dev-0001"), key, sub_name, sub_key, key_usage=end_entity_key_usage(), eku=DEVICE_EKU
    )
    return w.seal(Signer(key, [leaf, sub], "dev-0001")), None


def _foreign_root(w: World) -> tuple[bytes, TrustStore | None]:
    stranger = DeviceCA.create("AIMA Device CA (test)")  # same name, another key
    key = ec.generate_private_key(ec.SECP256R1())
    cert = stranger.issue(key.public_key(), "dev-0001")
    return w.seal(Signer(key, [cert], "dev-0001")), None


def _revoked(w: World) -> tuple[bytes, TrustStore | None]:
    ca = DeviceCA.create()
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.issue(key.public_key(), "dev-0001")
    ca.revoke(cert.serial_number)
    data = World(ca, w.central).seal(Signer(key, [cert], "dev-0001"))
    return data, TrustStore([ca.certificate], [ca.crl()])


def _stale_crl(w: World) -> tuple[bytes, TrustStore | None]:
    stale = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(w.ca.certificate.subject)
        .last_update(NOW - dt.timedelta(days=30))
        .next_update(NOW - dt.timedelta(days=23))
        .sign(w.ca.key, hashes.SHA256())
    )
    return w.seal(w.device()), TrustStore([w.ca.certificate], [stale])


def _missing_crl(w: World) -> tuple[bytes, TrustStore | None]:
    return w.seal(w.device()), TrustStore([w.ca.certificate], require_crl=True)


Case = Callable[[World], tuple[bytes, TrustStore | None]]
CORPUS: dict[str, tuple[Case, type[PacketError], str]] = {
    "forged-device-id": (_forged_device_id, DeviceMismatch, "device_mismatch"),
    "device-minted-certificate": (_device_minted, IssuerNotCA, "issuer_not_ca"),
    "expired-certificate": (
        lambda w: (w.seal(w.device(start=NOW - dt.timedelta(days=400), days=30)), None),
        CertificateExpired,
        "certificate_expired",
    ),
    "not-yet-valid-certificate": (
        lambda w: (w.seal(w.device(start=NOW + dt.timedelta(days=2))), None),
        CertificateNotYetValid,
        "certificate_not_yet_valid",
    ),
    "wrong-eku": (
        lambda w: (w.seal(w.device(eku=[ExtendedKeyUsageOID.CLIENT_AUTH])), None),
        ExtendedKeyUsageInvalid,
        "eku_invalid",
    ),
    "no-eku": (
        lambda w: (w.seal(w.device(eku=None)), None),
        ExtendedKeyUsageInvalid,
        "eku_invalid",
    ),
    "wrong-key-usage": (
        lambda w: (w.seal(w.device(key_usage=_usage(key_encipherment=True))), None),
        KeyUsageInvalid,
        "key_usage_invalid",
    ),
    "ca-bits-on-device": (
        lambda w: (
            w.seal(w.device(key_usage=_usage(digital_signature=True, key_cert_sign=True))),
            None,
        ),
        KeyUsageInvalid,
        "key_usage_invalid",
    ),
    "device-is-a-ca": (
        lambda w: (w.seal(w.device(ca=True)), None),
        ProfileViolation,
        "certificate_profile",
    ),
    "cn-differs-from-serial": (
        lambda w: (w.seal(_with_cn(w, "dev-other")), None),
        ProfileViolation,
        "certificate_profile",
    ),
    "chain-to-foreign-root": (_foreign_root, ChainUntrusted, "chain_untrusted"),
    "path-length-exceeded": (_path_too_long, PathLengthExceeded, "path_length_exceeded"),
    "revoked": (_revoked, CertificateRevoked, "certificate_revoked"),
    "stale-crl": (_stale_crl, CrlInvalid, "crl_invalid"),
    "missing-crl": (_missing_crl, CrlInvalid, "crl_invalid"),
}


def _with_cn(w: World, cn: str) -> Signer:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert(
        _name("dev-0001", cn),
        key,
        w.ca.certificate.subject,
        w.ca.key,
        key_usage=end_entity_key_usage(),
        eku=DEVICE_EKU,
    )
    return Signer(key, [cert], "dev-0001")


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_hostile_packet_is_refused_with_its_code(world: World, case: str, tmp_path: Path) -> None:
    build, error, code = CORPUS[case]
    data, trust = build(world)
    (tmp_path / f"{case}.pkt").write_bytes(data)
    with pytest.raises(error) as caught:
        world.open(data, trust)
    assert caught.value.code == code, caught.value


def test_the_honest_packet_opens(world: World) -> None:
    world.open(world.seal(world.device()))
    world.open(
        world.seal(world.device()),
        TrustStore([world.ca.certificate], [world.ca.crl()], require_crl=True),
    )


def test_codes_are_distinct() -> None:
    assert len({code for _, _, code in CORPUS.values()}) == 11


def _receipt_signer(world: World, eku: list[x509.ObjectIdentifier]) -> tuple[object, object]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "receipts")])
    cert = _cert(
        subject,
        key,
        world.ca.certificate.subject,
        world.ca.key,
        key_usage=end_entity_key_usage(),
        eku=eku,
    )
    return key, cert


def test_receipts_need_the_receipt_signer_profile(world: World) -> None:
    fields = {"packet_id": "p-1", "device_id": "dev-0001", "sha256_hex": "ab" * 32, "size": 10}
    # The receipt's time, taken now: certificates issued below start 5 minutes back, and a
    # module-level time could be older than that when the suite runs long.
    now = dt.datetime.now(dt.UTC)
    trust = TrustStore([world.ca.certificate])
    key, cert = world.ca.issue_receipt_signer()
    receipt = sign_receipt(key, cert, accepted_at=now, **fields)  # type: ignore[arg-type]
    checked = verify_receipt(
        receipt, cert, packet_id="p-1", sha256_hex="ab" * 32, size=10, trust=trust
    )
    assert str(checked["accepted_at"]).endswith("Z") and len(str(checked["accepted_at"])) == 24
    # The reference receiver's TLS certificate carries the receipt purpose too.
    key, cert = world.ca.issue_server(["127.0.0.1"])
    receipt = sign_receipt(key, cert, accepted_at=now.isoformat(), **fields)  # type: ignore[arg-type]
    verify_receipt(receipt, cert, packet_id="p-1", sha256_hex="ab" * 32, size=10, trust=trust)
    # A TLS-only certificate may not sign receipts.
    key, cert = _receipt_signer(world, [ExtendedKeyUsageOID.SERVER_AUTH])
    receipt = sign_receipt(key, cert, accepted_at=now, **fields)  # type: ignore[arg-type]
    with pytest.raises(ReceiptInvalid, match="eku_invalid"):
        verify_receipt(receipt, cert, packet_id="p-1", sha256_hex="ab" * 32, size=10)
    # A receipt signer from a foreign CA does not chain.
    stranger = DeviceCA.create()
    key, cert = stranger.issue_receipt_signer()
    receipt = sign_receipt(key, cert, accepted_at=now, **fields)  # type: ignore[arg-type]
    with pytest.raises(ReceiptInvalid, match="chain_untrusted"):
        verify_receipt(receipt, cert, packet_id="p-1", sha256_hex="ab" * 32, size=10, trust=trust)
    assert RECEIPT_SIGNING in list(
        cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )
