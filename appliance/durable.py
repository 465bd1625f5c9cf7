"""Durable small files: written whole or not at all, and still there after a power cut."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (a rename or a new file in it) to disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``data`` to ``path`` (mode 0600) and fsync it."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (mode 0600): a temporary file, fsync, rename, fsync
    of the directory. A reader sees the old content or the new, never a part."""
    tmp = _temporary(path)
    _write_synced(tmp, data)
    os.replace(tmp, path)
    fsync_directory(path.parent)


def create_once(path: Path, data: bytes) -> bytes:
    """Create ``path`` with ``data`` unless it exists, never replacing what another
    process made meanwhile (a hard link of a synced temporary file); what it holds."""
    tmp = _temporary(path)
    _write_synced(tmp, data, exclusive=True)
    try:
        os.link(tmp, path)
        fsync_directory(path.parent)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes()
