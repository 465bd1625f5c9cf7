"""Cryptographic building blocks of BAC/PACE secure messaging (ICAO 9303-11 §9.7-9.8).

Primitives come from ``cryptography``; this module only arranges them:
the key derivation function, ISO/IEC 9797-1 padding, the retail MAC (MAC
algorithm 3 over DES) and AES-CMAC, and CBC encryption with the right IVs.
"""

from __future__ import annotations

import enum
import hashlib

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC


class Cipherkind(enum.StrEnum):
    TDES = "3DES"
    AES128 = "AES-128"
    AES192 = "AES-192"
    AES256 = "AES-256"

    @property
    def block(self) -> int:
        return 8 if self is Cipherkind.TDES else 16

    @property
    def key_len(self) -> int:
        return {"3DES": 16, "AES-128": 16, "AES-192": 24, "AES-256": 32}[self.value]


KDF_ENC = 1
KDF_MAC = 2
KDF_PI = 3


def _adjust_parity(key: bytes) -> bytes:
    out = bytearray()
    for byte in key:
        bits = bin(byte >> 1).count("1")
        out.append((byte & 0xFE) | (0 if bits % 2 else 1))
    return bytes(out)


def kdf(shared: bytes, counter: int, kind: Cipherkind) -> bytes:
    """KDF(K, c) of ICAO 9303-11 §9.7.1: SHA-1 for 3DES/AES-128, SHA-256 above."""
    data = shared + counter.to_bytes(4, "big")
    if kind in (Cipherkind.TDES, Cipherkind.AES128):
        digest = hashlib.sha1(data).digest()  # noqa: S324 - mandated by ICAO 9303-11
    else:
        digest = hashlib.sha256(data).digest()
    key = digest[: kind.key_len]
    return _adjust_parity(key) if kind is Cipherkind.TDES else key


def pad(data: bytes, block: int) -> bytes:
    """ISO/IEC 9797-1 padding method 2: 0x80 then zeros to a block boundary."""
    data += b"\x80"
    return data + b"\x00" * (-len(data) % block)


def unpad(data: bytes) -> bytes:
    stripped = data.rstrip(b"\x00")
    if not stripped.endswith(b"\x80"):
        raise ValueError("bad ISO/IEC 9797-1 padding")
    return stripped[:-1]


def _tdes_key(key: bytes) -> bytes:
    return key + key[:8] if len(key) == 16 else key


def tdes_cbc(key: bytes, data: bytes, *, decrypt: bool = False, iv: bytes = bytes(8)) -> bytes:
    cipher = Cipher(TripleDES(_tdes_key(key)), modes.CBC(iv))
    ctx = cipher.decryptor() if decrypt else cipher.encryptor()
    return ctx.update(data) + ctx.finalize()


def retail_mac(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 (DES CBC-MAC, final 3DES); ``data`` already padded."""
    k1, k2 = key[:8], key[8:16]
    head, last = data[:-8], data[-8:]
    chained = bytes(8)
    if head:  # single-DES CBC over all but the last block
        single = Cipher(TripleDES(k1 * 3), modes.CBC(bytes(8))).encryptor()
        chained = (single.update(head) + single.finalize())[-8:]
    block = bytes(a ^ b for a, b in zip(last, chained, strict=True))
    final = Cipher(TripleDES(k1 + k2 + k1), modes.ECB()).encryptor()  # noqa: S305 - last block, 3DES
    return final.update(block) + final.finalize()


def aes_cbc(key: bytes, data: bytes, iv: bytes, *, decrypt: bool = False) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    ctx = cipher.decryptor() if decrypt else cipher.encryptor()
    return ctx.update(data) + ctx.finalize()


def aes_ecb_block(key: bytes, block: bytes) -> bytes:
    ctx = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - one block
    return ctx.update(block) + ctx.finalize()


def aes_cmac(key: bytes, data: bytes) -> bytes:
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def mac8(kind: Cipherkind, key: bytes, padded: bytes) -> bytes:
    """The 8-byte secure-messaging MAC over already padded input."""
    if kind is Cipherkind.TDES:
        return retail_mac(key, padded)
    return aes_cmac(key, padded)[:8]
