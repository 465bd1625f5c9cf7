"""Hostile inputs of issue 13, made on the fly: the YAML alias bomb, a deep file, a huge PNG."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

#: Nine levels of nine-fold aliases (9^9 strings once expanded), about 400 bytes.
ALIAS_BOMB = "".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n',
        *(
            f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int, idat: bytes = b"") -> bytes:
    """A grayscale PNG whose IHDR announces ``width`` x ``height``."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", idat or zlib.compress(b"\0"))
        + _chunk(b"IEND", b"")
    )


def huge_png(width: int = 20000, height: int = 20000) -> bytes:
    """A real, fully valid all-black PNG (about 389 KB for 20000 x 20000)."""
    packer = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return png_header(width, height, idat)


def write_hostile_files(directory: Path, *, real_png: bool = False) -> dict[str, Path]:
    """The three files of the issue's done-when, written to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "alias-bomb.yaml": ALIAS_BOMB.encode(),
        "deep.yaml": b"[" * 100_000 + b"]" * 100_000 + b"\n",
        "huge.png": huge_png() if real_png else png_header(20000, 20000),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = directory / name
        paths[name].write_bytes(data)
    return paths
