"""The test vectors of docs/packet-format.md: derivations, fixed-ephemeral packets, X-Wing."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from packet import format as fmt
from packet.errors import PacketError
from packet.keys import CentralKeyring, CentralPrivateKey, Suite
from packet.manifest import EnrolmentMeta
from packet.open import MemorySink, open_packet
from packet.seal import ItemSource, seal_packet
from packet.timestamps import parse_timestamp
from packet.trust import TrustStore
from tests.reference_hpke import (
    seal_base,
    x25519_derive_key_pair,
    xwing_decapsulate,
    xwing_encapsulate_derand,
)

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "packet-format.md").read_text()
VECTORS = json.loads((ROOT / "tests" / "vectors" / "packet-v1.json").read_text())
XWING = json.loads((ROOT / "tests" / "vectors" / "xwing-draft-10.json").read_text())["vectors"]


def _doc_value(name: str) -> str:
    match = re.search(rf"^{re.escape(name)}\s*=\s*(\S+)$", DOC, re.MULTILINE)
    assert match, name
    return match.group(1)


def test_deterministic_vectors() -> None:
    header = fmt.Header(
        packet_id="0192f3a1-7b2c-7d3e-8f40-123456789abc",
        device_id="dev-vector-1",
        key_id="central-2026-11",
        suite="x25519-hkdfsha256-aes256gcm",
        device_cert_sha256="00" * 32,
        chunk_size=1024,
    )
    header_bytes = header.to_bytes()
    assert header_bytes.decode() == _doc_value("header")
    preamble = fmt.preamble(header_bytes)
    aad = fmt.chunk_aad(preamble)
    assert aad.hex() == _doc_value("aad")
    prefix, dek = bytes(range(7)), bytes(range(32))
    assert fmt.chunk_nonce(prefix, 0, False).hex() == _doc_value("nonce(0, last=0)")
    assert fmt.chunk_nonce(prefix, 1, True).hex() == _doc_value("nonce(1, last=1)")
    chunk0 = AESGCM(dek).encrypt(
        fmt.chunk_nonce(prefix, 0, False), b"AIMA test vector chunk 0", aad
    )
    chunk1 = AESGCM(dek).encrypt(fmt.chunk_nonce(prefix, 1, True), b"final", aad)
    assert chunk0.hex() in DOC
    assert chunk1.hex() in DOC


def _trust() -> TrustStore:
    return TrustStore([x509.load_pem_x509_certificate(VECTORS["ca_certificate_pem"].encode())])


def _open_at() -> dt.datetime:
    return parse_timestamp(VECTORS["open_at"])


@pytest.mark.parametrize("vector", VECTORS["packets"], ids=lambda v: v["suite"])
def test_complete_packets_open(vector: dict[str, Any]) -> None:
    keyring = CentralKeyring([CentralPrivateKey.from_json(vector["central_private_key"])])
    data = bytes.fromhex(vector["packet_hex"])
    sink = MemorySink()
    opened = open_packet(io.BytesIO(data), keyring, _trust(), sink, now=_open_at())
    assert opened.manifest.packet_id == "0192f3a1-7b2c-7d3e-8f40-123456789abc"
    assert opened.manifest_bytes.decode() == vector["manifest"]
    assert {k: bytes(v).hex() for k, v in sink.items.items()} == {
        i["name"]: i["data_hex"] for i in VECTORS["items"]
    }
    for position in range(0, len(data), max(1, len(data) // 97)):
        corrupted = bytearray(data)
        corrupted[position] ^= 0x80
        with pytest.raises(PacketError):
            open_packet(
                io.BytesIO(bytes(corrupted)), keyring, _trust(), MemorySink(), now=_open_at()
            )


class _Signer:
    def __init__(self) -> None:
        device = VECTORS["device"]
        key = serialization.load_der_private_key(
            base64.b64decode(device["private_key_pkcs8_b64"]), None
        )
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self.key = key
        self.device_id = device["device_id"]
        self.certificate_chain_der = (base64.b64decode(device["certificate_b64"]),)

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))


@pytest.mark.parametrize("vector", VECTORS["packets"], ids=lambda v: v["suite"])
def test_sealer_reproduces_the_packet_byte_for_byte(vector: dict[str, Any]) -> None:
    """The production sealer, given the vector's fixed inputs, writes the same bytes."""
    central = CentralPrivateKey.from_json(vector["central_private_key"])
    suite = central.suite
    hpke = vector["hpke"]
    assert (vector["kem_id"], vector["kdf_id"], vector["aead_id"]) == tuple(
        f"0x{i:04X}" for i in suite.ids
    )
    ephemeral = bytes.fromhex(hpke["skE_hex"] if suite is Suite.X25519 else hpke["eseed_hex"])
    if suite is Suite.X25519:
        assert x25519_derive_key_pair(bytes.fromhex(hpke["ikmE_hex"])) == ephemeral

    def wrap(plaintext: bytes, info: bytes) -> bytes:
        assert (plaintext.hex(), info.hex()) == (hpke["plaintext_hex"], hpke["info_hex"])
        trace = seal_base(suite.ids[0], central.public().raw, ephemeral, info, plaintext)
        assert trace.enc.hex() == hpke["enc_hex"]
        assert trace.shared_secret.hex() == hpke["shared_secret_hex"]
        assert (trace.key.hex(), trace.base_nonce.hex()) == (
            hpke["key_hex"],
            hpke["base_nonce_hex"],
        )
        return trace.ciphertext

    meta = EnrolmentMeta(**VECTORS["meta"])
    items = [
        ItemSource(
            i["name"],
            i["type"],
            i["format"],
            bytes.fromhex(i["data_hex"]),
            captured_at=i["captured_at"],
        )
        for i in VECTORS["items"]
    ]
    out = io.BytesIO()
    result = seal_packet(
        out,
        items,
        signer=_Signer(),
        central_key=central.public(),
        meta=meta,
        packet_id="0192f3a1-7b2c-7d3e-8f40-123456789abc",
        chunk_size=1024,
        wrap_key=wrap,
        packet_secret=bytes.fromhex(vector["dek_hex"] + vector["nonce_prefix_hex"]),
        sealed_at=VECTORS["sealed_at"],
    )
    assert out.getvalue().hex() == vector["packet_hex"]
    assert result.sha256 == vector["packet_sha256"]
    assert _Signer().sign(vector["manifest"].encode()).hex() == vector["signature"]["der_hex"]
    # The wrapped key opens with the cryptography HPKE the opener uses.
    wrapped = bytes.fromhex(hpke["wrapped_key_hex"])
    assert suite.hpke().decrypt(wrapped, central.key(), info=bytes.fromhex(hpke["info_hex"])) == (
        bytes.fromhex(hpke["plaintext_hex"])
    )


@pytest.mark.parametrize("vector", XWING, ids=lambda v: v["ss"][:8])
def test_xwing_draft_10_vectors(vector: dict[str, str]) -> None:
    """Our key form and combiner are X-Wing draft -10's (label last, 32-byte seed)."""
    key = CentralPrivateKey("x", Suite.MLKEM768_X25519, bytes.fromhex(vector["sk"]))
    assert key.public().raw.hex() == vector["pk"]
    ct, ss = bytes.fromhex(vector["ct"]), bytes.fromhex(vector["ss"])
    assert xwing_decapsulate(ct, bytes.fromhex(vector["sk"])) == ss
    assert xwing_encapsulate_derand(
        bytes.fromhex(vector["pk"]), bytes.fromhex(vector["eseed"])
    ) == (
        ss,
        ct,
    )


def test_rfc9180_derive_key_pair() -> None:
    """RFC 9180 A.1.1: ikmE -> skEm, and the enc it gives."""
    ikm = bytes.fromhex("7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234")
    sk = x25519_derive_key_pair(ikm)
    assert sk.hex() == "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736"
    from cryptography.hazmat.primitives.asymmetric import x25519

    enc = x25519.X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes_raw()
    assert enc.hex() == "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431"


def test_key_files_store_the_seed_and_read_the_old_expanded_form(tmp_path: Path) -> None:
    import hashlib

    seed = bytes(range(32))
    key = CentralPrivateKey("k", Suite.MLKEM768_X25519, seed)
    CentralKeyring([key]).save(tmp_path / "keys.json")
    stored = json.loads((tmp_path / "keys.json").read_text())
    assert stored["format"] == 2
    assert base64.b64decode(stored["keys"][0]["private_key_b64"]) == seed
    # Format 1 kept the expanded 96 bytes; such a file still opens the same packets.
    legacy = dict(stored["keys"][0])
    legacy["private_key_b64"] = base64.b64encode(hashlib.shake_256(seed).digest(96)).decode()
    (tmp_path / "old.json").write_text(json.dumps({"keys": [legacy]}))
    old = CentralKeyring.load(tmp_path / "old.json").get("k")
    assert old.public() == key.public()
    assert len(CentralPrivateKey.generate("n", Suite.MLKEM768_X25519).raw) == 32
