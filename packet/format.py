"""Byte-level constants and helpers shared by sealing and opening (docs/packet-format.md)."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Any

from packet.canonical import canonical_json

MAGIC = b"AIMAPKT\x01"  # format version 1
FORMAT_VERSION = 1
HPKE_INFO_LABEL = b"aima.enrolment.v1/packet\x00"
DEK_LENGTH = 32  # AES-256 key
NONCE_PREFIX_LENGTH = 7  # + 4-byte counter + 1-byte last flag = 12-byte GCM nonce
TAG_LENGTH = 16
DEFAULT_CHUNK_SIZE = 1 << 20  # 1 MiB of plaintext per chunk
MAX_CHUNK_SIZE = 16 << 20
MAX_CHUNKS = 1 << 32

# Plaintext records inside the encrypted stream.
RECORD_ITEM = 0x01
RECORD_MANIFEST = 0x02
MAX_SEGMENT = 1 << 24


@dataclass(frozen=True)
class Header:
    """The cleartext header: what central needs before it can decrypt."""

    packet_id: str
    device_id: str
    key_id: str
    suite: str
    device_cert_sha256: str
    chunk_size: int

    def to_bytes(self) -> bytes:
        return canonical_json(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        return {
            "chunk_size": self.chunk_size,
            "device_cert_sha256": self.device_cert_sha256,
            "device_id": self.device_id,
            "format": FORMAT_VERSION,
            "key_id": self.key_id,
            "packet_id": self.packet_id,
            "suite": self.suite,
        }


def preamble(header_bytes: bytes) -> bytes:
    """Magic, header length and header: the bytes the AAD commits to."""
    return MAGIC + struct.pack(">H", len(header_bytes)) + header_bytes


def chunk_aad(preamble_bytes: bytes) -> bytes:
    """Every chunk's AAD: SHA-256 of the preamble (binds chunks to this header)."""
    return hashlib.sha256(preamble_bytes).digest()


def hpke_info(header_bytes: bytes) -> bytes:
    """HPKE ``info``: a label and the exact header bytes (packet id, device id, key ids)."""
    return HPKE_INFO_LABEL + header_bytes


def chunk_nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    """STREAM nonce: 7-byte random prefix, 32-bit big-endian counter, last-chunk flag."""
    if counter >= MAX_CHUNKS:
        raise ValueError("too many chunks")
    return prefix + struct.pack(">IB", counter, 1 if last else 0)
