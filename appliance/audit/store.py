"""The record of operations on disk: append-only segment files, fsynced line by line.

Layout under ``<state_dir>/audit/``::

    segment-000000000000.log   entries 0.., one per line: "<leaf hash hex> <entry>\\n"
    segment-000000004113.log   the next segment (a new one each UTC day), named by
                               the index of its first entry
    torn/                      torn tails set aside (never deleted by the kiosk)
    lock                       flock: writers exclusive, readers shared

A line is the entry's leaf hash (RFC 9162, 64 hex digits), one space, the
entry's canonical JSON (which holds no raw newline) and a newline. The leaf hash
on the line lets a verifier name the exact entry whose bytes changed; the tree
over those hashes is what the signed checkpoints commit to.

Appending writes one whole line with one ``write`` and fsyncs the file (and the
directory when a segment is created) before the entry counts. A crash can only
leave the last line without its newline: :meth:`SegmentStore.repair_tail`
moves such a torn tail into ``torn/`` (it is reported in the log as
``audit.torn_tail``), never dropping it silently. Any other damage is left in
place for ``appliance audit verify`` to name.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from transparency.entries import MAX_ENTRY_BYTES

SEGMENT = re.compile(r"^segment-(\d{12})\.log$")
HEX_LEN = 64
MAX_LINE = HEX_LEN + 1 + MAX_ENTRY_BYTES + 1


class StoreError(RuntimeError):
    """The log's files cannot be read or written."""


@dataclass(frozen=True)
class Line:
    """One stored line: its index, the stored leaf hash (hex) and the entry bytes."""

    index: int
    leaf_hex: str
    entry: bytes
    segment: Path
    offset: int
    length: int  # bytes on disk, newline included
    problem: str | None = None  # the line is not "<64 hex> <entry>\n"


@dataclass(frozen=True)
class TornTail:
    size: int
    sha256: str
    kept_as: str


def segment_name(first_index: int) -> str:
    return f"segment-{first_index:012d}.log"


class SegmentStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    # ----------------------------------------------------------------- files

    def segments(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.directory.iterdir():
            match = SEGMENT.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return sorted(found)

    @contextlib.contextmanager
    def locked(self, *, exclusive: bool) -> Iterator[None]:
        fd = os.open(self.directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # releases the lock

    # ----------------------------------------------------------------- reading

    def lines(self, start: int = 0) -> Iterator[Line]:
        """Every complete line of every segment, in order (from entry ``start`` on)."""
        segments = self.segments()
        for position, (first, path) in enumerate(segments):
            following = segments[position + 1][0] if position + 1 < len(segments) else None
            if following is not None and following <= start:
                continue
            yield from self._read(path, first, start)

    def lines_after(self, segment_first: int, offset: int, index: int) -> Iterator[Line]:
        """Lines written after byte ``offset`` of the segment starting at ``segment_first``
        (entry ``index`` on), then those of every later segment."""
        for first, path in self.segments():
            if first == segment_first:
                yield from self._read(path, index, index, offset)
            elif first > segment_first:
                yield from self._read(path, first, index)

    def _read(self, path: Path, first: int, start: int, offset: int = 0) -> Iterator[Line]:
        index = first
        with path.open("rb") as handle:
            handle.seek(offset)
            position = offset
            while True:
                raw = handle.readline(MAX_LINE + 1)
                length = len(raw)
                if not raw.endswith(b"\n"):
                    if len(raw) <= MAX_LINE:
                        return  # the end, or a torn tail (see repair_tail)
                    skipped = _skip_line(handle)
                    if skipped is None:
                        return
                    length += skipped
                    line = Line(
                        index, "", b"", path, position, length, "line longer than the limit"
                    )
                else:
                    line = _split(raw, index, path, position)
                position += length
                if index >= start:
                    yield line
                index += 1

    def tail(self) -> tuple[Path | None, int]:
        """(last segment, its size): where the next line goes."""
        segments = self.segments()
        if not segments:
            return None, 0
        path = segments[-1][1]
        return path, path.stat().st_size

    # ----------------------------------------------------------------- writing

    def append(
        self, index: int, leaf: bytes, entry: bytes, *, new_segment: bool
    ) -> tuple[Path, int]:
        """Write one line durably; returns (segment, size after)."""
        line = leaf.hex().encode() + b" " + entry + b"\n"
        if b"\n" in entry or len(line) > MAX_LINE:
            raise StoreError("an entry must be one line within the size limit")
        segments = self.segments()
        if new_segment or not segments:
            path = self.directory / segment_name(index)
            created = True
        else:
            path, created = segments[-1][1], False
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if created:
            self.fsync_directory()
        return path, size

    def repair_tail(self) -> TornTail | None:
        """Set a torn last line aside (``torn/``) and cut the segment back to whole lines."""
        path, size = self.tail()
        if path is None or size == 0:
            return None
        with path.open("rb") as handle:
            handle.seek(max(0, size - MAX_LINE - 1))
            block = handle.read()
        if block.endswith(b"\n"):
            return None
        cut = block.rfind(b"\n")
        keep = size - len(block) + cut + 1 if cut >= 0 else size - len(block)
        if cut < 0 and size > len(block):
            raise StoreError(f"{path.name}: a line longer than the limit at its end")
        torn = block[cut + 1 :]
        folder = self.directory / "torn"
        folder.mkdir(exist_ok=True, mode=0o700)
        kept = folder / f"{path.stem}-at-{keep}-{int(time.time())}.bin"
        fd = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(torn)
            handle.flush()
            os.fsync(handle.fileno())
        with path.open("r+b") as handle:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
        self.fsync_directory()
        digest = hashlib.sha256(torn).hexdigest()
        return TornTail(len(torn), digest, f"torn/{kept.name}")

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        self.fsync_directory()

    def fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _skip_line(handle: BinaryIO) -> int | None:
    """Read past the rest of an overlong line; its length, or None at a torn end."""
    skipped = 0
    while True:
        chunk = handle.readline(1 << 16)
        if not chunk:
            return None
        skipped += len(chunk)
        if chunk.endswith(b"\n"):
            return skipped


def _split(raw: bytes, index: int, path: Path, offset: int) -> Line:
    body = raw[:-1]
    head, sep, entry = body.partition(b" ")
    leaf = head.decode("ascii", "replace")
    if not sep or len(head) != HEX_LEN or not all(c in b"0123456789abcdef" for c in head):
        return Line(index, leaf, entry or body, path, offset, len(raw), "no leaf hash before it")
    return Line(index, leaf, entry, path, offset, len(raw))
