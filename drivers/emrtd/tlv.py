"""Bounded BER-TLV decoding for LDS structures (ICAO 9303-10, ISO/IEC 7816-4).

Every length is checked against the bytes actually present before anything is
sliced, and nesting depth is capped, so a lying length or a deeply nested
structure costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

MAX_DEPTH = 16


class TlvError(ValueError):
    """Malformed or out-of-bounds TLV."""


@dataclass(frozen=True)
class Header:
    tag: int
    length: int
    header_len: int


def read_header(data: bytes, offset: int = 0) -> Header:
    """Tag and length at ``offset``; the value need not be present yet."""
    pos = offset
    if pos >= len(data):
        raise TlvError("truncated tag")
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        for _ in range(3):
            if pos >= len(data):
                raise TlvError("truncated tag")
            tag = (tag << 8) | data[pos]
            pos += 1
            if not data[pos - 1] & 0x80:
                break
        else:
            raise TlvError("tag longer than 4 bytes")
    if pos >= len(data):
        raise TlvError("truncated length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        length = first
    elif first in (0x81, 0x82, 0x83):
        count = first & 0x7F
        if pos + count > len(data):
            raise TlvError("truncated length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        raise TlvError(f"unsupported length byte {first:02X}")
    return Header(tag, length, pos - offset)


def iter_tlv(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Top-level (tag, value) pairs of ``data``; raises on any overrun."""
    pos = 0
    while pos < len(data):
        if data[pos] in (0x00, 0xFF) and pos + 1 >= len(data):
            return  # trailing padding byte
        header = read_header(data, pos)
        start = pos + header.header_len
        end = start + header.length
        if end > len(data):
            raise TlvError(
                f"tag {header.tag:X} claims {header.length} bytes, {len(data) - start} left"
            )
        yield header.tag, data[start:end]
        pos = end


def find(data: bytes, *path: int, depth: int = 0) -> bytes:
    """The value at a path of tags (each level searched among its siblings)."""
    if depth > MAX_DEPTH:
        raise TlvError("nesting too deep")
    if not path:
        return data
    for tag, value in iter_tlv(data):
        if tag == path[0]:
            return find(value, *path[1:], depth=depth + 1)
    raise TlvError(f"tag {path[0]:X} not found")


def unwrap(data: bytes, tag: int) -> bytes:
    """The value of ``data``, which must be exactly one TLV with ``tag``."""
    header = read_header(data)
    if header.tag != tag:
        raise TlvError(f"expected tag {tag:X}, found {header.tag:X}")
    if header.header_len + header.length != len(data):
        raise TlvError(f"tag {tag:X}: length {header.length} does not fit {len(data)} bytes")
    return data[header.header_len :]


def encode(tag: int, value: bytes) -> bytes:
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    n = len(value)
    if n < 0x80:
        length = bytes((n,))
    elif n < 0x100:
        length = b"\x81" + bytes((n,))
    elif n < 0x10000:
        length = b"\x82" + n.to_bytes(2, "big")
    else:
        length = b"\x83" + n.to_bytes(3, "big")
    return tag_bytes + length + value
