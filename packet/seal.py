"""Seal an enrolment into a packet, streaming, in memory bounded by the chunk size.

Items are hashed while they stream into the encrypted body; the signed
manifest comes last, so nothing needs to be held in memory or written to
disk in plaintext. See docs/packet-format.md for the layout.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import queue
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from packet import format as fmt
from packet.keys import CentralPublicKey
from packet.manifest import ITEM_TYPES, EnrolmentMeta, ItemEntry, Manifest, uuid7
from packet.timestamps import parse_timestamp, utc_now

__all__ = ["DeviceSigner", "ItemSource", "SealResult", "seal_packet", "utc_now"]

logger = logging.getLogger(__name__)


class DeviceSigner(Protocol):
    """The device key: signs manifests and names its certificate chain."""

    @property
    def device_id(self) -> str: ...

    @property
    def certificate_chain_der(self) -> tuple[bytes, ...]: ...

    def sign(self, data: bytes) -> bytes:
        """ECDSA P-256/SHA-256 (DER) or Ed25519 signature over ``data``."""


@dataclass(frozen=True)
class ItemSource:
    """One item to seal. ``data`` is bytes or an iterable of byte chunks (streamed)."""

    name: str
    type: str
    format: str
    data: bytes | bytearray | memoryview | Iterable[bytes]
    quality: dict[str, Any] = field(default_factory=dict)
    #: When the capture was taken (packet timestamp format). Empty: the sealer
    #: writes the moment the item went into the packet.
    captured_at: str = ""


@dataclass(frozen=True)
class SealResult:
    packet_id: str
    manifest: Manifest
    size: int
    sha256: str  # of the sealed bytes, as uploaded


class _BackgroundHash:
    """SHA-256 on a worker thread, so hashing overlaps encryption on another core.

    hashlib and AES-GCM both release the GIL on large buffers. The queue is
    bounded, so at most a few chunks are referenced at any time.
    """

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._queue: queue.Queue[memoryview | bytes | None] = queue.Queue(maxsize=8)
        self._thread = threading.Thread(target=self._run, name="seal-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            self._hash.update(data)

    def update(self, data: memoryview | bytes) -> None:
        self._queue.put(data)

    def hexdigest(self) -> str:
        self._queue.put(None)
        self._thread.join()
        return self._hash.hexdigest()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


class _HashingWriter:
    """Counts and hashes (in the background) what goes to the output file."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._hash = _BackgroundHash()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._out.write(data)
        self._hash.update(data)
        self.size += len(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        self._hash.close()


class _ChunkEncryptor:
    """STREAM encryption: fixed-size chunks, counter nonces, last-chunk flag."""

    def __init__(
        self, out: _HashingWriter, dek: bytes, prefix: bytes, aad: bytes, chunk_size: int
    ) -> None:
        self._out = out
        self._aead = AESGCM(dek)
        self._prefix = prefix
        self._aad = aad
        self._chunk = chunk_size
        self._buffer = bytearray()
        self._counter = 0

    def write(self, data: bytes | memoryview) -> None:
        """Encrypt every full chunk that is certainly not the last one.

        At least one byte always stays buffered, so the final chunk (flagged
        "last") is only written by :meth:`finish`. Large writes are encrypted
        straight from the caller's buffer, without copying.
        """
        view = memoryview(data)
        if self._buffer:
            room = self._chunk - len(self._buffer)
            if len(view) <= room:
                self._buffer += view
                return
            self._buffer += view[:room]
            view = view[room:]
            self._emit(memoryview(self._buffer), last=False)
            self._buffer.clear()
        while len(view) > self._chunk:
            self._emit(view[: self._chunk], last=False)
            view = view[self._chunk :]
        self._buffer += view

    def finish(self) -> None:
        self._emit(memoryview(self._buffer), last=True)
        self._buffer.clear()

    def _emit(self, plaintext: memoryview, *, last: bool) -> None:
        nonce = fmt.chunk_nonce(self._prefix, self._counter, last)
        self._out.write(self._aead.encrypt(nonce, plaintext, self._aad))
        self._counter += 1


def _segments(data: bytes | bytearray | memoryview | Iterable[bytes]) -> Iterator[memoryview]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), fmt.MAX_SEGMENT):
            yield view[start : start + fmt.MAX_SEGMENT]
        return
    for block in data:
        view = memoryview(block)
        for start in range(0, len(view), fmt.MAX_SEGMENT):
            yield view[start : start + fmt.MAX_SEGMENT]


def seal_packet(
    out: BinaryIO,
    items: Iterable[ItemSource],
    *,
    signer: DeviceSigner,
    central_key: CentralPublicKey,
    meta: EnrolmentMeta,
    packet_id: str | None = None,
    chunk_size: int = fmt.DEFAULT_CHUNK_SIZE,
    wrap_key: Callable[[bytes, bytes], bytes] | None = None,
    packet_secret: bytes | None = None,
    sealed_at: str | None = None,
) -> SealResult:
    """Write one sealed packet to ``out`` and return its id, manifest and hash.

    ``wrap_key(plaintext, info)``, ``packet_secret`` (DEK || nonce prefix) and
    ``sealed_at`` replace the random and clock inputs; they exist only to
    reproduce the fixed-ephemeral test vectors byte for byte
    (scripts/make_packet_vectors.py). Production sealing never passes them.
    """
    if not 1024 <= chunk_size <= fmt.MAX_CHUNK_SIZE:
        raise ValueError("chunk_size must be between 1 KiB and 16 MiB")
    chain = signer.certificate_chain_der
    if not chain:
        raise ValueError("the device has no certificate yet: provision it first")
    parse_timestamp(meta.started_at)
    packet_id = packet_id or uuid7()
    cert_sha256 = hashlib.sha256(chain[0]).hexdigest()
    header = fmt.Header(
        packet_id=packet_id,
        device_id=signer.device_id,
        key_id=central_key.key_id,
        suite=central_key.suite.value,
        device_cert_sha256=cert_sha256,
        chunk_size=chunk_size,
    )
    header_bytes = header.to_bytes()
    preamble = fmt.preamble(header_bytes)
    secret = packet_secret or os.urandom(fmt.DEK_LENGTH + fmt.NONCE_PREFIX_LENGTH)
    if len(secret) != fmt.DEK_LENGTH + fmt.NONCE_PREFIX_LENGTH:
        raise ValueError("packet_secret is the 32-byte DEK and the 7-byte nonce prefix")
    dek, prefix = secret[: fmt.DEK_LENGTH], secret[fmt.DEK_LENGTH :]
    if wrap_key is None:
        suite, key = central_key.suite.hpke(), central_key.key()

        def wrap_key(plaintext: bytes, info: bytes) -> bytes:
            return suite.encrypt(plaintext, key, info=info)

    wrapped = wrap_key(secret, fmt.hpke_info(header_bytes))
    writer = _HashingWriter(out)
    try:
        writer.write(preamble)
        writer.write(struct.pack(">H", len(wrapped)) + wrapped)
        body = _ChunkEncryptor(writer, dek, prefix, fmt.chunk_aad(preamble), chunk_size)

        entries: list[ItemEntry] = []
        seen: set[str] = set()
        for item in items:
            if item.type not in ITEM_TYPES:
                raise ValueError(f"item {item.name!r}: unknown type {item.type!r}")
            name = item.name.encode("utf-8")
            if not name or len(name) > 255 or item.name in seen:
                raise ValueError(f"item name {item.name!r} is empty, too long or repeated")
            seen.add(item.name)
            captured_at = item.captured_at or utc_now()
            parse_timestamp(captured_at)  # refuse a malformed time before it is signed
            body.write(struct.pack(">BH", fmt.RECORD_ITEM, len(name)) + name)
            digest = _BackgroundHash()
            size = 0
            try:
                for segment in _segments(item.data):
                    if not len(segment):
                        continue
                    digest.update(segment)
                    size += len(segment)
                    body.write(struct.pack(">I", len(segment)))
                    body.write(segment)
            finally:
                item_sha256 = digest.hexdigest()
            body.write(struct.pack(">I", 0))
            entries.append(
                ItemEntry(
                    item.name,
                    item.type,
                    item.format,
                    size,
                    item_sha256,
                    item.quality,
                    captured_at,
                )
            )
        manifest = Manifest(
            packet_id=packet_id,
            device_id=signer.device_id,
            key_id=central_key.key_id,
            device_cert_sha256=cert_sha256,
            device_certificate_chain_b64=tuple(base64.b64encode(c).decode() for c in chain),
            meta=meta,
            sealed_at=sealed_at or utc_now(),
            items=tuple(entries),
        )
        manifest_bytes = manifest.to_bytes()
        signature = signer.sign(manifest_bytes)
        body.write(struct.pack(">BI", fmt.RECORD_MANIFEST, len(manifest_bytes)) + manifest_bytes)
        body.write(struct.pack(">H", len(signature)) + signature)
        body.finish()
        logger.debug("sealed packet with %d items, %d bytes", len(entries), writer.size)
    except BaseException:
        writer.close()
        raise
    return SealResult(packet_id, manifest, writer.size, writer.hexdigest())
