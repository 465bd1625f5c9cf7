"""The emulated chip's own cryptography (ICAO 9303-11), independent of the reader's.

Single-DES steps are done as 3DES with three equal keys, blockwise in ECB;
padding, key derivation and the retail MAC are written out here.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

BLOCK = 8


def derive_key(seed: bytes, counter: int) -> bytes:
    """16-byte 2-key 3DES key with odd parity: SHA-1(seed || counter)[0:16]."""
    raw = hashlib.sha1(seed + bytes((0, 0, 0, counter))).digest()[:16]  # noqa: S324 - ICAO
    return bytes(b & 0xFE | (bin(b & 0xFE).count("1") + 1) % 2 for b in raw)


def iso_pad(message: bytes) -> bytes:
    padded = bytearray(message) + b"\x80"
    while len(padded) % BLOCK:
        padded.append(0)
    return bytes(padded)


def iso_unpad(message: bytes) -> bytes:
    end = len(message) - 1
    while end >= 0 and message[end] == 0:
        end -= 1
    if end < 0 or message[end] != 0x80:
        raise ValueError("padding")
    return message[:end]


def _ecb(key24: bytes, block: bytes, *, decrypt: bool = False) -> bytes:
    cipher = Cipher(TripleDES(key24), modes.ECB())  # noqa: S305 - one block at a time
    ctx = cipher.decryptor() if decrypt else cipher.encryptor()
    return ctx.update(block) + ctx.finalize()


def encrypt(key16: bytes, message: bytes) -> bytes:
    """2-key 3DES in CBC mode, zero IV, done block by block."""
    key24 = key16 + key16[:8]
    previous = bytes(BLOCK)
    out = b""
    for i in range(0, len(message), BLOCK):
        block = bytes(a ^ b for a, b in zip(message[i : i + BLOCK], previous, strict=True))
        previous = _ecb(key24, block)
        out += previous
    return out


def decrypt(key16: bytes, message: bytes) -> bytes:
    key24 = key16 + key16[:8]
    previous = bytes(BLOCK)
    out = b""
    for i in range(0, len(message), BLOCK):
        block = message[i : i + BLOCK]
        out += bytes(a ^ b for a, b in zip(_ecb(key24, block, decrypt=True), previous, strict=True))
        previous = block
    return out


def retail_mac(key16: bytes, padded: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3: single-DES CBC, then decrypt K2, encrypt K1."""
    ka, kb = key16[:8] * 3, key16[8:] * 3
    state = bytes(BLOCK)
    for i in range(0, len(padded), BLOCK):
        state = _ecb(ka, bytes(a ^ b for a, b in zip(padded[i : i + BLOCK], state, strict=True)))
    return _ecb(ka, _ecb(kb, state, decrypt=True))
