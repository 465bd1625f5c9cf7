"""Open a sealed packet: decrypt, verify the device signature and every item hash.

Items stream to an :class:`ItemSink` as they are decrypted; the sink must
treat them as provisional until :func:`open_packet` returns (the signature and
hashes are only known at the end). On any failure the sink's ``abort`` is
called and a specific :class:`packet.errors.PacketError` raised.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding

from packet import format as fmt
from packet.boundedjson import loads
from packet.certprofiles import DEVICE_SIGNING, device_id_of
from packet.errors import (
    ChunkAuthFailed,
    DeviceMismatch,
    ItemHashMismatch,
    KeyUnwrapFailed,
    MalformedPacket,
    ManifestMismatch,
    PacketTruncated,
    TimestampInvalid,
    UnsupportedFormat,
)
from packet.keys import CentralKeyring, Suite
from packet.manifest import Manifest
from packet.timestamps import TimestampFormatError, parse_timestamp
from packet.trust import MAX_CHAIN, TrustStore, verify_signature

MAX_MANIFEST = 4 << 20  # bytes; a manifest lists items and a short chain
MAX_JSON_DEPTH = 8  # the manifest nests 4 deep (items -> item -> quality -> value)
MAX_ITEM_NAME = 255


class ItemSink(Protocol):
    """Receives decrypted items as they stream out of a packet."""

    def begin(self, name: str) -> None: ...

    def write(self, data: memoryview) -> None: ...

    def end(self) -> None: ...

    def abort(self) -> None: ...


class MemorySink:
    """Collects items in memory (small packets, tests)."""

    def __init__(self) -> None:
        self.items: dict[str, bytearray] = {}
        self._current: bytearray | None = None

    def begin(self, name: str) -> None:
        self._current = self.items.setdefault(name, bytearray())

    def write(self, data: memoryview) -> None:
        assert self._current is not None
        self._current += data

    def end(self) -> None:
        self._current = None

    def abort(self) -> None:
        for value in self.items.values():
            value[:] = bytes(len(value))
        self.items.clear()


class DiscardSink:
    """Verifies without keeping anything (benchmarks, health checks)."""

    def begin(self, name: str) -> None:
        pass

    def write(self, data: memoryview) -> None:
        pass

    def end(self) -> None:
        pass

    def abort(self) -> None:
        pass


@dataclass(frozen=True)
class OpenedPacket:
    header: fmt.Header
    manifest: Manifest
    manifest_bytes: bytes
    signature: bytes
    device_chain: tuple[x509.Certificate, ...] = field(default_factory=tuple)


def read_header(source: BinaryIO) -> tuple[fmt.Header, bytes]:
    """Read and parse the cleartext header; returns it with the preamble bytes."""
    magic = _read_exact(source, len(fmt.MAGIC))
    if magic[:7] != fmt.MAGIC[:7]:
        raise MalformedPacket("not an enrolment packet (bad magic)")
    if magic != fmt.MAGIC:
        raise UnsupportedFormat(f"packet format version {magic[7]} is not supported")
    (length,) = struct.unpack(">H", _read_exact(source, 2))
    header_bytes = _read_exact(source, length)
    try:
        data = loads(header_bytes, max_bytes=1 << 16, max_depth=1)
        header = fmt.Header(
            packet_id=str(data["packet_id"]),
            device_id=str(data["device_id"]),
            key_id=str(data["key_id"]),
            suite=str(data["suite"]),
            device_cert_sha256=str(data["device_cert_sha256"]),
            chunk_size=int(data["chunk_size"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MalformedPacket(f"unreadable packet header: {exc}") from None
    if data.get("format") != fmt.FORMAT_VERSION or header.to_bytes() != header_bytes:
        raise MalformedPacket("packet header is not in canonical form")
    if not 1024 <= header.chunk_size <= fmt.MAX_CHUNK_SIZE:
        raise MalformedPacket("chunk size out of range")
    return header, fmt.preamble(header_bytes)


def open_packet(
    source: BinaryIO,
    keyring: CentralKeyring,
    trust: TrustStore,
    sink: ItemSink,
    *,
    now: datetime | None = None,
) -> OpenedPacket:
    """Decrypt and verify one packet, streaming its items into ``sink``."""
    try:
        return _open(source, keyring, trust, sink, now)
    except BaseException:
        sink.abort()  # nothing from a packet that failed verification may be used
        raise


def _open(
    source: BinaryIO,
    keyring: CentralKeyring,
    trust: TrustStore,
    sink: ItemSink,
    now: datetime | None,
) -> OpenedPacket:
    header, preamble = read_header(source)
    try:
        suite = Suite(header.suite)
    except ValueError:
        raise UnsupportedFormat(f"unknown HPKE suite {header.suite!r}") from None
    private = keyring.get(header.key_id)
    if private.suite is not suite:
        raise KeyUnwrapFailed("key id names a key of another suite")
    (wrapped_len,) = struct.unpack(">H", _read_exact(source, 2))
    wrapped = _read_exact(source, wrapped_len)
    try:
        secret = suite.hpke().decrypt(wrapped, private.key(), info=fmt.hpke_info(preamble[10:]))
    except Exception:  # the HPKE binding raises a generic error on any failure
        raise KeyUnwrapFailed(
            "cannot unwrap the packet key (wrong key, or header altered)"
        ) from None
    if len(secret) != fmt.DEK_LENGTH + fmt.NONCE_PREFIX_LENGTH:
        raise KeyUnwrapFailed("wrapped key has the wrong length")
    chunks = _decrypt_chunks(
        source,
        secret[: fmt.DEK_LENGTH],
        secret[fmt.DEK_LENGTH :],
        fmt.chunk_aad(preamble),
        header.chunk_size,
    )
    body = _PlainReader(chunks)
    streamed: list[tuple[str, int, str]] = []
    while True:
        record = body.read(1)[0]
        if record == fmt.RECORD_ITEM:
            (name_len,) = struct.unpack(">H", body.read(2))
            if not 1 <= name_len <= MAX_ITEM_NAME:
                raise MalformedPacket("item name length out of range")
            try:
                name = bytes(body.read(name_len)).decode("utf-8", errors="strict")
            except UnicodeDecodeError:
                raise MalformedPacket("item name is not UTF-8") from None
            streamed.append(_stream_item(body, name, sink))
        elif record == fmt.RECORD_MANIFEST:
            break
        else:
            raise MalformedPacket(f"unknown record type {record}")
    (manifest_len,) = struct.unpack(">I", body.read(4))
    if manifest_len > MAX_MANIFEST:
        raise MalformedPacket(f"manifest of {manifest_len} bytes exceeds {MAX_MANIFEST}")
    manifest_bytes = bytes(body.read(manifest_len))
    (sig_len,) = struct.unpack(">H", body.read(2))
    signature = bytes(body.read(sig_len))
    body.expect_end()

    manifest, chain = _parse_manifest(manifest_bytes)
    if hashlib.sha256(chain[0].public_bytes(Encoding.DER)).hexdigest() != header.device_cert_sha256:
        raise ManifestMismatch("manifest certificate does not match the header")
    trust.verify_chain(chain, now, DEVICE_SIGNING)
    verify_signature(chain[0], signature, manifest_bytes)
    _check_binding(header, manifest, chain[0])
    _check_timestamps(manifest)
    expected = [(i.name, i.size, i.sha256) for i in manifest.items]
    if [(n, s) for n, s, _ in streamed] != [(n, s) for n, s, _ in expected]:
        raise ManifestMismatch("items in the packet differ from the signed manifest")
    for (name, _, got), (_, _, want) in zip(streamed, expected, strict=True):
        if got != want:
            raise ItemHashMismatch(f"item {name!r} does not match its manifest hash")
    return OpenedPacket(header, manifest, manifest_bytes, signature, tuple(chain))


def _parse_manifest(data: bytes) -> tuple[Manifest, list[x509.Certificate]]:
    try:
        manifest = Manifest.from_dict(loads(data, max_bytes=MAX_MANIFEST, max_depth=MAX_JSON_DEPTH))
        encoded = manifest.device_certificate_chain_b64
        if not 1 <= len(encoded) <= MAX_CHAIN:
            raise ValueError("the certificate chain must hold 1 to 5 certificates")
        chain = [
            x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in encoded
        ]
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise MalformedPacket(f"unreadable manifest: {exc}") from None
    return manifest, chain


def _check_timestamps(manifest: Manifest) -> None:
    stamps = [("sealed_at", manifest.sealed_at), ("started_at", manifest.meta.started_at)]
    stamps += [(f"items[{i.name}].captured_at", i.captured_at) for i in manifest.items]
    for name, value in stamps:
        try:
            parse_timestamp(value)
        except TimestampFormatError as exc:
            raise TimestampInvalid(f"{name}: {exc}") from None


def _check_binding(header: fmt.Header, manifest: Manifest, signer: x509.Certificate) -> None:
    """Header, signed manifest and signing certificate name one packet and one device."""
    pairs = {
        "packet_id": (header.packet_id, manifest.packet_id),
        "key_id": (header.key_id, manifest.key_id),
        "device_cert_sha256": (header.device_cert_sha256, manifest.device_cert_sha256),
    }
    for name, (in_header, in_manifest) in pairs.items():
        if in_header != in_manifest:
            raise ManifestMismatch(f"{name} in the header differs from the signed manifest")
    certified = device_id_of(signer)
    if not header.device_id == manifest.device_id == certified:
        raise DeviceMismatch(
            "the header, the manifest and the signing certificate name different devices"
        )


def _stream_item(body: _PlainReader, name: str, sink: ItemSink) -> tuple[str, int, str]:
    digest = hashlib.sha256()
    size = 0
    sink.begin(name)
    while True:
        (length,) = struct.unpack(">I", body.read(4))
        if length == 0:
            break
        if length > fmt.MAX_SEGMENT:
            raise MalformedPacket("item segment too large")
        remaining = length
        while remaining:
            piece = body.read_some(remaining)
            digest.update(piece)
            sink.write(piece)
            remaining -= len(piece)
        size += length
    sink.end()
    return name, size, digest.hexdigest()


def _decrypt_chunks(
    source: BinaryIO, dek: bytes, prefix: bytes, aad: bytes, chunk_size: int
) -> Iterator[bytes]:
    aead = AESGCM(dek)
    sealed = chunk_size + fmt.TAG_LENGTH
    counter = 0
    current = source.read(sealed)
    while True:
        if len(current) < fmt.TAG_LENGTH:
            raise PacketTruncated("packet ends before its final chunk")
        following = source.read(sealed) if len(current) == sealed else b""
        last = not following
        nonce = fmt.chunk_nonce(prefix, counter, last)
        try:
            yield aead.decrypt(nonce, current, aad)
        except InvalidTag:
            if last:
                raise PacketTruncated(
                    f"chunk {counter} is not a valid final chunk (packet truncated or altered)"
                ) from None
            raise ChunkAuthFailed(f"chunk {counter} failed authentication") from None
        if last:
            return
        counter += 1
        current = following


class _PlainReader:
    """Reads exact byte counts across decrypted chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._view = memoryview(b"")

    def _fill(self) -> None:
        while not self._view:
            try:
                self._view = memoryview(next(self._chunks))
            except StopIteration:
                raise PacketTruncated("encrypted body ends inside a record") from None

    def read_some(self, limit: int) -> memoryview:
        self._fill()
        piece = self._view[:limit]
        self._view = self._view[len(piece) :]
        return piece

    def read(self, count: int) -> memoryview:
        piece = self.read_some(count)
        if len(piece) == count:
            return piece
        parts = bytearray(piece)
        while len(parts) < count:
            parts += self.read_some(count - len(parts))
        return memoryview(bytes(parts))

    def expect_end(self) -> None:
        if self._view:
            raise MalformedPacket("trailing data after the manifest")
        for extra in self._chunks:
            if extra:
                raise MalformedPacket("trailing data after the manifest")


def _read_exact(source: BinaryIO, count: int) -> bytes:
    data = source.read(count)
    if len(data) != count:
        raise PacketTruncated("packet ends inside its header")
    return data
