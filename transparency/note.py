"""C2SP signed notes (c2sp.org/signed-note) with ECDSA P-256 signatures.

A signed note is a UTF-8 text ending in a newline, a blank line, then one or
more signature lines ``— <key name> <base64(key ID || signature)>``. The kiosk
signs with its device key, ECDSA P-256 / SHA-256 with a DER signature: the
note's signature type ``0x02`` ("ECDSA signatures as implemented by
transparency-dev/witness"), whose key ID is the first four bytes of
``SHA-256(DER SubjectPublicKeyInfo)``.

Parsing is bounded (:data:`MAX_NOTE_BYTES`, :data:`MAX_SIGNATURES`) and strict:
the format's rules (no control characters but newline, exactly one blank line
before the signatures, key names without spaces or ``+``) are checked before
any signature is. Verification follows the spec: signatures from unknown keys
are ignored, a known key whose signature fails rejects the note, and a note
with no verified signature from the expected key is rejected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

#: Largest signed note accepted (a checkpoint is about 200 bytes, a daily ledger a few KiB).
MAX_NOTE_BYTES = 64 << 10
MAX_SIGNATURES = 16
SIGNATURE_TYPE_ECDSA = 0x02
_DASH = "\u2014"


class NoteError(ValueError):
    """The note is malformed, or its signature does not verify."""


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes  # 4 bytes
    signature: bytes


@dataclass(frozen=True)
class SignedNote:
    text: str  # ends with a newline
    signatures: tuple[NoteSignature, ...]

    def to_bytes(self) -> bytes:
        lines = [
            f"{_DASH} {s.name} {base64.b64encode(s.key_id + s.signature).decode()}\n"
            for s in self.signatures
        ]
        return (self.text + "\n" + "".join(lines)).encode()


def ecdsa_key_id(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """Key ID of a type 0x02 key: ``SHA-256(DER SubjectPublicKeyInfo)[:4]``."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:4]


def check_key_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name) or _has_controls(name):
        raise NoteError(f"{name!r} is not a note key name (no spaces, no '+')")
    return name


def sign_note(
    text: str,
    name: str,
    sign: Callable[[bytes], bytes],
    public_key: ec.EllipticCurvePublicKey,
) -> SignedNote:
    """Sign ``text`` (must end with a newline) with ``sign`` (ECDSA P-256/SHA-256 DER)."""
    _check_text(text)
    check_key_name(name)
    signature = sign(text.encode())
    note = SignedNote(text, (NoteSignature(name, ecdsa_key_id(public_key), signature),))
    if len(note.to_bytes()) > MAX_NOTE_BYTES:
        raise NoteError("the signed note exceeds the size limit")
    return note


def parse_note(data: bytes) -> SignedNote:
    """Parse a signed note (bounded, strict); signatures are not checked here."""
    if len(data) > MAX_NOTE_BYTES:
        raise NoteError(f"signed note of {len(data)} bytes exceeds {MAX_NOTE_BYTES}")
    try:
        whole = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("a signed note is UTF-8") from None
    if _has_controls(whole.replace("\n", "")):
        raise NoteError("a signed note holds no control characters but newlines")
    split = whole.rfind("\n\n")
    if split < 0 or not whole.endswith("\n"):
        raise NoteError("no blank line between the text and the signatures")
    text, block = whole[: split + 1], whole[split + 2 :]
    lines = block.split("\n")[:-1]
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a signed note carries 1 to {MAX_SIGNATURES} signatures")
    signatures = []
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH:
            raise NoteError("malformed signature line")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise NoteError("a signature is not base64") from None
        if len(raw) < 5:
            raise NoteError("a signature is too short")
        signatures.append(NoteSignature(check_key_name(parts[1]), raw[:4], raw[4:]))
    return SignedNote(text, tuple(signatures))


def verify_note(note: SignedNote, name: str, public_key: ec.EllipticCurvePublicKey) -> None:
    """Raise :class:`NoteError` unless ``note`` carries a valid signature by (name, key)."""
    key_id = ecdsa_key_id(public_key)
    known = [s for s in note.signatures if s.name == name and s.key_id == key_id]
    if not known:
        raise NoteError(f"the note is not signed by {name}")
    for signature in known:
        try:
            public_key.verify(signature.signature, note.text.encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise NoteError(f"the signature of {name} does not verify") from None


def _check_text(text: str) -> None:
    if not text.endswith("\n") or text.endswith("\n\n"):
        raise NoteError("a note text ends with exactly one newline")
    if _has_controls(text.replace("\n", "")):
        raise NoteError("a note text holds no control characters but newlines")


def _has_controls(text: str) -> bool:
    return any(ord(c) < 0x20 for c in text)
