"""One enrolment's captures, in memory only.

Captures never touch the disk: they live here until they are sealed, and are
zeroed when the enrolment is sealed, cancelled or abandoned.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

#: Item types a packet may carry (see docs/packet-format.md).
ITEM_TYPES = ("face", "finger", "slap", "document", "record")


@dataclass
class Capture:
    """One captured item, encoded, held in memory."""

    capture_id: str
    item_type: str
    media_type: str
    name: str
    data: bytearray
    quality: dict[str, Any]
    captured_at: float

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def wipe(self) -> None:
        self.data[:] = bytes(len(self.data))
        self.data.clear()


@dataclass
class EnrolmentCaptures:
    """The captures of the enrolment in progress, by id, in the order they were taken."""

    captures: dict[str, Capture] = field(default_factory=dict)
    #: Opaque id of this enrolment's captures (devices that chain captures key on it).
    enrolment_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def add(
        self, item_type: str, media_type: str, name: str, data: bytes, **quality: Any
    ) -> Capture:
        if item_type not in ITEM_TYPES:
            raise ValueError(f"unknown item type {item_type!r}")
        capture = Capture(
            uuid.uuid4().hex, item_type, media_type, name, bytearray(data), quality, time.time()
        )
        self.captures[capture.capture_id] = capture
        return capture

    def get(self, capture_id: str) -> Capture | None:
        return self.captures.get(capture_id)

    def drop(self, capture_id: str | None) -> None:
        capture = self.captures.pop(capture_id, None) if capture_id else None
        if capture is not None:
            capture.wipe()

    def drop_where(
        self, *, item_types: frozenset[str] = frozenset(), names: frozenset[str]
    ) -> None:
        for capture_id in [
            c.capture_id
            for c in self.captures.values()
            if c.item_type in item_types or c.name in names
        ]:
            self.drop(capture_id)

    def __iter__(self) -> Iterator[Capture]:
        return iter(list(self.captures.values()))

    def __len__(self) -> int:
        return len(self.captures)

    def counts(self) -> dict[str, int]:
        types = [c.item_type for c in self.captures.values()]
        return {kind: types.count(kind) for kind in ITEM_TYPES if kind in types}

    def wipe(self) -> None:
        for capture in self.captures.values():
            capture.wipe()
        self.captures.clear()
