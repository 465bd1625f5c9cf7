"""Sealed packets: round trip, and every kind of tampering fails with a specific error."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random

import pytest

from packet.errors import (
    CertificateExpired,
    CertificateInvalid,
    CertificateRevoked,
    ChunkAuthFailed,
    KeyUnwrapFailed,
    MalformedPacket,
    PacketError,
    PacketTruncated,
    UnknownKeyId,
)
from packet.format import MAGIC
from packet.keys import CentralKeyring, CentralPrivateKey, Suite
from packet.manifest import uuid7
from packet.open import DiscardSink, MemorySink, open_packet, read_header
from packet.trust import TrustStore
from tests.sealing_helpers import META, make_world, sample_items, seal


def _open(world, data: bytes, **kwargs):  # type: ignore[no-untyped-def]
    sink = MemorySink()
    opened = open_packet(
        io.BytesIO(data),
        kwargs.pop("keyring", world.keyring),
        kwargs.pop("trust", world.trust),
        sink,
        **kwargs,
    )
    return opened, sink


@pytest.mark.parametrize("suite", list(Suite))
def test_round_trip(suite: Suite) -> None:
    world = make_world(suite)
    items = sample_items()
    data, result = seal(world, items)
    assert data.startswith(MAGIC)
    assert hashlib.sha256(data).hexdigest() == result.sha256
    assert len(data) == result.size
    opened, sink = _open(world, data)
    assert opened.manifest.packet_id == result.packet_id
    assert opened.manifest.device_id == "dev-0001"
    assert opened.manifest.meta == META
    assert {name: bytes(v) for name, v in sink.items.items()} == {
        i.name: bytes(i.data)
        for i in items  # type: ignore[arg-type]
    }
    assert opened.manifest.items[1].quality == {"nfiq2": 71}


def test_packet_ids_are_uuid7_and_ordered() -> None:
    first, second = uuid7(), uuid7()
    assert first[14] == "7" and second[14] == "7"
    assert first[19] in "89ab"
    assert first[:13] <= second[:13]


def test_every_single_byte_flip_fails() -> None:
    world = make_world()
    data, _ = seal(world, sample_items(600), chunk_size=1024)
    rng = random.Random(5)
    # Every byte of the header and wrapped key, then a sample across the body.
    positions = list(range(0, 200)) + sorted(rng.sample(range(200, len(data)), 300))
    for position in positions:
        corrupted = bytearray(data)
        corrupted[position] ^= 0x01
        with pytest.raises(PacketError):
            _open(world, bytes(corrupted))


def test_truncation_is_detected_at_every_chunk_boundary() -> None:
    world = make_world()
    data, _ = seal(world, chunk_size=1024)
    header_end = len(data) - ((len(data) - 200) // 1040) * 1040
    for cut in [5, 60, 150, len(data) - 1, len(data) - 16, len(data) - 1040, header_end]:
        with pytest.raises((PacketTruncated, MalformedPacket, KeyUnwrapFailed)):
            _open(world, data[:cut])
    # Cutting exactly at a chunk boundary must not look like a valid shorter packet.
    _, preamble = read_header(io.BytesIO(data))
    start = len(preamble) + 2 + int.from_bytes(data[len(preamble) : len(preamble) + 2], "big")
    for chunks in range(1, (len(data) - start) // 1040):
        with pytest.raises(PacketTruncated):
            _open(world, data[: start + chunks * 1040])


def test_reordered_and_swapped_chunks_fail() -> None:
    world = make_world()
    data, _ = seal(world, chunk_size=1024)
    _, preamble = read_header(io.BytesIO(data))
    start = len(preamble) + 2 + int.from_bytes(data[len(preamble) : len(preamble) + 2], "big")
    body = data[start:]
    chunks = [body[i : i + 1040] for i in range(0, len(body), 1040)]
    assert len(chunks) >= 4
    swapped = chunks[:]
    swapped[1], swapped[2] = swapped[2], swapped[1]
    with pytest.raises(ChunkAuthFailed):
        _open(world, data[:start] + b"".join(swapped))
    # A chunk from another packet (same keys, same device) does not fit either.
    other, _ = seal(world, chunk_size=1024)
    other_body = other[start:]
    mixed = chunks[:]
    mixed[1] = other_body[1040:2080]
    with pytest.raises(ChunkAuthFailed):
        _open(world, data[:start] + b"".join(mixed))


def test_wrong_key_id_and_rotation_overlap() -> None:
    world = make_world()
    data, _ = seal(world)
    newer = CentralPrivateKey.generate("central-2027-01")
    with pytest.raises(UnknownKeyId):
        _open(world, data, keyring=CentralKeyring([newer]))
    # During the overlap central holds both keys: old packets still open.
    opened, _ = _open(world, data, keyring=CentralKeyring([newer, world.central]))
    assert opened.header.key_id == "central-2026-11"
    # A key with the right id but the wrong secret fails to unwrap.
    impostor = CentralPrivateKey.generate("central-2026-11")
    with pytest.raises(KeyUnwrapFailed):
        _open(world, data, keyring=CentralKeyring([impostor]))


def test_expired_revoked_and_untrusted_certificates() -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    world = make_world(days=30, not_before=past)
    data, _ = seal(world)
    with pytest.raises(CertificateExpired):
        _open(world, data)

    world = make_world()
    data, _ = seal(world)
    world.ca.revoke(world.identity.chain[0].serial_number)
    with pytest.raises(CertificateRevoked):
        _open(world, data, trust=TrustStore([world.ca.certificate], [world.ca.crl()]))

    stranger = make_world()
    with pytest.raises(CertificateInvalid):
        _open(world, data, trust=stranger.trust)

    # Central checks validity with its own clock: a day later the certificate still holds.
    world = make_world()
    data, _ = seal(world)
    _open(world, data, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))


def test_failed_open_aborts_the_sink() -> None:
    world = make_world()
    data, _ = seal(world, chunk_size=1024)
    corrupted = bytearray(data)
    corrupted[-5] ^= 0xFF
    sink = MemorySink()
    with pytest.raises(PacketError):
        open_packet(io.BytesIO(bytes(corrupted)), world.keyring, world.trust, sink)
    assert sink.items == {}


def test_streamed_items_and_empty_item() -> None:
    world = make_world()
    from packet.seal import ItemSource

    chunks = [bytes([i]) * 5000 for i in range(10)]
    items = [
        ItemSource("doc.jpg", "document", "image/jpeg", iter(chunks)),
        ItemSource("empty.txt", "record", "text/plain", b""),
    ]
    data, result = seal(world, items)
    assert result.manifest.items[0].size == 50000
    assert result.manifest.items[1].size == 0
    _opened, sink = _open(world, data)
    assert bytes(sink.items["doc.jpg"]) == b"".join(chunks)
    assert bytes(sink.items["empty.txt"]) == b""
    open_packet(io.BytesIO(data), world.keyring, world.trust, DiscardSink())


def test_bad_items_are_refused_before_sealing() -> None:
    world = make_world()
    from packet.seal import ItemSource

    with pytest.raises(ValueError, match="unknown type"):
        seal(world, [ItemSource("x", "selfie", "image/jpeg", b"x")])
    with pytest.raises(ValueError, match="repeated"):
        seal(world, [ItemSource("x", "face", "image/jpeg", b"x")] * 2)
