"""Pinned model files: their SHA-256, and whether each is installed as pinned.

The face, MRZ and face-match engines each list their files (name + SHA-256)
and where they come from; this module is the one check they share.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol


class PinnedFile(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def sha256(self) -> str: ...


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_files(files: Iterable[PinnedFile], directory: Path) -> dict[str, str]:
    """name -> 'ok' | 'missing' | 'mismatch' for every file in ``directory``."""
    verdicts: dict[str, str] = {}
    for pinned in files:
        path = directory / pinned.name
        if not path.is_file():
            verdicts[pinned.name] = "missing"
        elif sha256_file(path) != pinned.sha256:
            verdicts[pinned.name] = "mismatch"
        else:
            verdicts[pinned.name] = "ok"
    return verdicts
