"""A second, test-only HPKE implementation (RFC 9180 base mode) with a fixed ephemeral key.

It exists to make and check the fixed-ephemeral test vectors of
docs/packet-format.md: written from RFC 9180 and draft-connolly-cfrg-xwing-kem-10,
independent of the ``cryptography`` HPKE the packet code uses. ML-KEM-768
encapsulation with fixed randomness comes from the pure-Python ``kyber-py``
(FIPS 203 ``ML-KEM.Encaps_internal``), X25519 and AES-GCM from ``cryptography``.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from kyber_py.ml_kem import ML_KEM_768

KEM_X25519, KEM_XWING, KDF_HKDF_SHA256, AEAD_AES_256_GCM = 0x0020, 0x647A, 0x0001, 0x0002
XWING_LABEL = bytes.fromhex("5c2e2f2f5e5c")  # "\.//^\"


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def _labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    return _expand(prk, struct.pack(">H", length) + b"HPKE-v1" + suite_id + label + info, length)


def x25519_derive_key_pair(ikm: bytes) -> bytes:
    """RFC 9180 7.1.3 DeriveKeyPair for DHKEM(X25519, HKDF-SHA256): the private key."""
    suite_id = b"KEM" + struct.pack(">H", KEM_X25519)
    prk = _labeled_extract(suite_id, b"", b"dkp_prk", ikm)
    return _labeled_expand(suite_id, prk, b"sk", b"", 32)


def _x25519_encap(public: bytes, ephemeral: bytes) -> tuple[bytes, bytes]:
    """RFC 9180 4.1 DHKEM Encap with a given ephemeral private key: (shared_secret, enc)."""
    suite_id = b"KEM" + struct.pack(">H", KEM_X25519)
    secret = x25519.X25519PrivateKey.from_private_bytes(ephemeral)
    enc = secret.public_key().public_bytes_raw()
    dh = secret.exchange(x25519.X25519PublicKey.from_public_bytes(public))
    prk = _labeled_extract(suite_id, b"", b"eae_prk", dh)
    return _labeled_expand(suite_id, prk, b"shared_secret", enc + public, 32), enc


def xwing_encapsulate_derand(public: bytes, eseed: bytes) -> tuple[bytes, bytes]:
    """X-Wing EncapsulateDerand (draft -10): (shared_secret, ct_M || ct_X)."""
    pk_m, pk_x = public[:1184], public[1184:]
    ss_m, ct_m = ML_KEM_768._encaps_internal(pk_m, eseed[:32])
    ephemeral = x25519.X25519PrivateKey.from_private_bytes(eseed[32:64])
    ct_x = ephemeral.public_key().public_bytes_raw()
    ss_x = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(pk_x))
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + XWING_LABEL).digest(), ct_m + ct_x


def xwing_decapsulate(ciphertext: bytes, seed: bytes) -> bytes:
    """X-Wing Decapsulate (draft -10) from the 32-byte decapsulation key seed."""
    expanded = hashlib.shake_256(seed).digest(96)
    sk_m = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    sk_x = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
    pk_x = sk_x.public_key().public_bytes_raw()
    ss_m = sk_m.decapsulate(ciphertext[:1088])
    ss_x = sk_x.exchange(x25519.X25519PublicKey.from_public_bytes(ciphertext[1088:]))
    return hashlib.sha3_256(ss_m + ss_x + ciphertext[1088:] + pk_x + XWING_LABEL).digest()


@dataclass(frozen=True)
class SealTrace:
    """Every intermediate value of one single-shot seal, for the vector file."""

    kem_id: int
    shared_secret: bytes
    enc: bytes
    key: bytes
    base_nonce: bytes
    ciphertext: bytes  # enc || AEAD ciphertext, as the packet carries it


def seal_base(
    kem_id: int, public: bytes, ephemeral: bytes, info: bytes, plaintext: bytes
) -> SealTrace:
    """RFC 9180 SealBase with KDF HKDF-SHA256, AEAD AES-256-GCM, empty AAD, sequence 0.

    ``ephemeral``: the X25519 ephemeral private key (32 bytes) or the X-Wing
    ``eseed`` (64 bytes).
    """
    if kem_id == KEM_X25519:
        shared, enc = _x25519_encap(public, ephemeral)
    else:
        shared, enc = xwing_encapsulate_derand(public, ephemeral)
    suite_id = b"HPKE" + struct.pack(">HHH", kem_id, KDF_HKDF_SHA256, AEAD_AES_256_GCM)
    psk_id_hash = _labeled_extract(suite_id, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(suite_id, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash  # mode_base
    secret = _labeled_extract(suite_id, shared, b"secret", b"")
    key = _labeled_expand(suite_id, secret, b"key", context, 32)
    base_nonce = _labeled_expand(suite_id, secret, b"base_nonce", context, 12)
    sealed = AESGCM(key).encrypt(base_nonce, plaintext, b"")
    return SealTrace(kem_id, shared, enc, key, base_nonce, enc + sealed)
