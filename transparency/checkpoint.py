"""Checkpoints: a kiosk's signed tree heads, in the C2SP tlog-checkpoint format.

The note text is exactly four lines::

    claim-kiosk/audit/v1/<device id>        origin: this kiosk's log
    <tree size>                             ASCII decimal, no leading zeros
    <root hash>                             base64 of the RFC 9162 tree head (32 bytes)
    time <timestamp>                        when it was signed (RFC 3339 UTC, ms)

signed as a C2SP signed note (:mod:`.note`) by the kiosk's device key under the
key name equal to the origin. The time is an extension line (the format allows
them); the tree size, root and origin are the standard three. The signing
certificate is the device's packet-signing certificate (profile
``device-signing``), whose subject serialNumber must equal the device id in the
origin: a checkpoint is bound to one device.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from packet.certprofiles import device_id_of
from packet.errors import CertificateInvalid
from packet.timestamps import TimestampFormatError, parse_timestamp
from transparency.merkle import HASH_SIZE
from transparency.note import NoteError, SignedNote, parse_note, sign_note, verify_note

ORIGIN_PREFIX = "claim-kiosk/audit/v1/"
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SIZE = re.compile(r"^(0|[1-9][0-9]{0,18})$")


class CheckpointError(ValueError):
    """A checkpoint is malformed, signed by another device, or its signature fails."""


@dataclass(frozen=True)
class Checkpoint:
    device_id: str
    size: int
    root: bytes
    time: str  # packet timestamp format (packet.timestamps)

    @property
    def origin(self) -> str:
        return origin_for(self.device_id)

    def text(self) -> str:
        root = base64.b64encode(self.root).decode()
        return f"{self.origin}\n{self.size}\n{root}\ntime {self.time}\n"


def origin_for(device_id: str) -> str:
    if not _DEVICE_ID.match(device_id):
        raise CheckpointError(f"{device_id!r} is not a device id")
    return ORIGIN_PREFIX + device_id


def parse_checkpoint_text(text: str) -> Checkpoint:
    """The checkpoint a note text states (format only; no signature check)."""
    lines = text.split("\n")
    if len(lines) != 5 or lines[4] != "":
        raise CheckpointError("a checkpoint text is exactly four lines")
    origin, size, root, stamp = lines[:4]
    if not origin.startswith(ORIGIN_PREFIX):
        raise CheckpointError(f"origin {origin!r} is not a kiosk audit log")
    device_id = origin[len(ORIGIN_PREFIX) :]
    if not _DEVICE_ID.match(device_id):
        raise CheckpointError("the origin names no device id")
    if not _SIZE.match(size):
        raise CheckpointError("the tree size is not a decimal number without leading zeros")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise CheckpointError("the root hash is not base64") from None
    if len(root_hash) != HASH_SIZE or base64.b64encode(root_hash).decode() != root:
        raise CheckpointError("the root hash is not 32 bytes in canonical base64")
    if not stamp.startswith("time "):
        raise CheckpointError("the fourth line is not 'time <timestamp>'")
    try:
        parse_timestamp(stamp[5:])
    except TimestampFormatError as exc:
        raise CheckpointError(str(exc)) from None
    return Checkpoint(device_id, int(size), root_hash, stamp[5:])


def sign_checkpoint(
    checkpoint: Checkpoint,
    sign: Callable[[bytes], bytes],
    public_key: ec.EllipticCurvePublicKey,
) -> bytes:
    """The signed note of ``checkpoint`` (key name = origin), as bytes."""
    return sign_note(checkpoint.text(), checkpoint.origin, sign, public_key).to_bytes()


@dataclass(frozen=True)
class OpenedCheckpoint:
    checkpoint: Checkpoint
    note: SignedNote


def open_checkpoint(data: bytes, certificate: x509.Certificate) -> OpenedCheckpoint:
    """Parse ``data`` and verify its signature with ``certificate``'s key.

    The certificate must name the device the origin names (its trust - chain,
    profile, revocation - is the caller's to check, e.g. with ``packet.trust``).
    """
    try:
        note = parse_note(data)
    except NoteError as exc:
        raise CheckpointError(str(exc)) from None
    checkpoint = parse_checkpoint_text(note.text)
    try:
        certified = device_id_of(certificate)
    except CertificateInvalid as exc:
        raise CheckpointError(f"the signing certificate names no device: {exc}") from None
    if certified != checkpoint.device_id:
        raise CheckpointError("the checkpoint's origin names another device than its signer")
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise CheckpointError("the signing key is not ECDSA P-256")
    try:
        verify_note(note, checkpoint.origin, key)
    except NoteError as exc:
        raise CheckpointError(str(exc)) from None
    return OpenedCheckpoint(checkpoint, note)
