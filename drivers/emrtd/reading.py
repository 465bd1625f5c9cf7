"""What a chip read yields: the raw LDS files and the evidence of each protocol run."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class AccessProtocol(enum.StrEnum):
    BAC = "BAC"
    PACE = "PACE"


@dataclass(frozen=True)
class ReadLimits:
    """Upper bounds on what a chip may make us read (a lying length costs nothing)."""

    com_bytes: int = 1024
    sod_bytes: int = 32 * 1024
    dg1_bytes: int = 512
    dg2_bytes: int = 256 * 1024
    other_dg_bytes: int = 16 * 1024
    card_access_bytes: int = 2048
    #: READ BINARY chunk: 0xDF fits a short APDU under secure messaging.
    short_chunk: int = 0xDF
    extended_chunk: int = 0x0800

    def for_group(self, number: int) -> int:
        return {1: self.dg1_bytes, 2: self.dg2_bytes}.get(number, self.other_dg_bytes)


@dataclass(frozen=True)
class ActiveAuthExchange:
    """The Active Authentication challenge sent and the chip's signature (DG15 verifies it)."""

    challenge: bytes
    signature: bytes


@dataclass(frozen=True)
class ChipReading:
    """Everything read from one document chip, unverified."""

    reader: str
    atr: bytes
    access: AccessProtocol
    #: Whether EF.CardAccess offered PACE, and why BAC was used instead when it did.
    pace_offered: bool
    pace_note: str
    com: bytes
    sod: bytes
    data_groups: Mapping[int, bytes]
    active_auth: ActiveAuthExchange | None = None
    #: "done" | "not_present" | "failed: ..." (Chip Authentication, DG14)
    chip_auth: str = "not_present"
    card_access: bytes | None = None
    extended_length: bool = False
    read_ms: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def groups_read(self) -> list[int]:
        return sorted(self.data_groups)
