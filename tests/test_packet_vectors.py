"""The test vectors of docs/packet-format.md."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from packet import format as fmt
from packet.errors import PacketError
from packet.keys import CentralKeyring, CentralPrivateKey
from packet.open import MemorySink, open_packet
from packet.trust import TrustStore

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "packet-format.md").read_text()
VECTORS = json.loads((ROOT / "tests" / "vectors" / "packet-v1.json").read_text())


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


@pytest.mark.parametrize("vector", VECTORS["packets"], ids=lambda v: v["suite"])
def test_complete_packets_open(vector: dict) -> None:  # type: ignore[type-arg]
    ca = x509.load_pem_x509_certificate(VECTORS["ca_certificate_pem"].encode())
    keyring = CentralKeyring([CentralPrivateKey.from_json(vector["central_private_key"])])
    trust = TrustStore([ca])
    when = dt.datetime.fromisoformat(VECTORS["open_at"].replace("Z", "+00:00"))
    data = bytes.fromhex(vector["packet_hex"])
    sink = MemorySink()
    opened = open_packet(io.BytesIO(data), keyring, trust, sink, now=when)
    assert opened.manifest.packet_id == "0192f3a1-7b2c-7d3e-8f40-123456789abc"
    assert {k: bytes(v).hex() for k, v in sink.items.items()} == {
        i["name"]: i["data_hex"] for i in vector["items"]
    }
    for position in range(0, len(data), max(1, len(data) // 97)):
        corrupted = bytearray(data)
        corrupted[position] ^= 0x80
        with pytest.raises(PacketError):
            open_packet(io.BytesIO(bytes(corrupted)), keyring, trust, MemorySink(), now=when)
