"""What central keeps of kiosks' records of operations and ledgers: one interface.

``CentralStorage.audit`` implements :class:`AuditStore` in both back ends
(:mod:`central.storage.sqlite_audit`, :mod:`central.storage.postgres_audit`).
Per device:

- the entries received, in order, each with its RFC 9162 leaf hash;
  :meth:`AuditStore.append_entries` adds them only when ``first_index`` equals the
  number held (compare-and-set: two replicas racing append once), and keeps the
  compact range of all held leaves so the tree head at ``entries_held`` costs
  O(log n);
- the latest accepted checkpoint (size, root, time, the signed note);
  :meth:`AuditStore.accept_checkpoint` replaces it only if the accepted size is
  still the one the caller verified against (compare-and-set);
- flags: a rewritten or truncated history, kept for the audit team;
- the latest revision of each day's signed ledger with its reconciliation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

#: Largest number of entries one call appends (the contract's 512 per request).
MAX_APPEND = 512


@dataclass(frozen=True)
class AuditLogState:
    device_id: str
    entries_held: int = 0
    frontier: bytes = b""  # hashes of frontier_ranges(entries_held), concatenated
    checkpoint_size: int = 0
    checkpoint_root: bytes = b""
    checkpoint_time: str | None = None
    checkpoint_note: bytes = b""
    flagged: bool = False


@dataclass(frozen=True)
class AuditFlag:
    device_id: str
    kind: str  # rewritten | truncated | inconsistent | root_mismatch | bad_signature
    checkpoint_size: int
    detail: str
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class StoredLedger:
    device_id: str
    day: str
    site_id: str
    revision: int
    note: bytes
    matches: bool
    receipts: int
    missing_at_kiosk: tuple[str, ...]
    unknown_at_central: tuple[str, ...]
    received_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class AuditStore(Protocol):
    async def state(self, device_id: str) -> AuditLogState: ...

    async def states(self) -> list[AuditLogState]: ...

    async def leaf_hashes(self, device_id: str, start: int, end: int) -> list[bytes]: ...

    async def entries(self, device_id: str, start: int, end: int) -> list[bytes]: ...

    async def append_entries(
        self,
        device_id: str,
        first_index: int,
        entries: list[bytes],
        leaves: list[bytes],
        frontier: bytes,
    ) -> int:
        """Append when ``first_index`` equals the count held; returns the count held after.

        ``frontier`` is the compact range of all leaves after the append (the caller
        computed it from the state it read; a lost race leaves both unchanged).
        """
        ...

    async def accept_checkpoint(
        self,
        device_id: str,
        previous_size: int,
        size: int,
        root: bytes,
        time: str,
        note: bytes,
    ) -> bool:
        """Replace the accepted checkpoint if its size is still ``previous_size``."""
        ...

    async def flag(self, flag: AuditFlag) -> None:
        """Record a flag (once per device, kind and checkpoint size) and mark the device."""
        ...

    async def flags(self) -> list[AuditFlag]: ...

    async def store_ledger(self, ledger: StoredLedger) -> StoredLedger:
        """Keep ``ledger`` unless a higher revision of that day is held; return what is held."""
        ...

    async def ledgers(self) -> list[StoredLedger]: ...

    async def device_site(self, device_id: str) -> str | None:
        """The site the device was enrolled for (the latest certificate's), if known."""
        ...

    async def receipts_between(
        self, device_id: str, since: dt.datetime, until: dt.datetime
    ) -> list[tuple[str, bytes]]:
        """(packet_id, receipt bytes) of the device's packets committed in [since, until)."""
        ...
