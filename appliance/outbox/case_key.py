"""The per-kiosk key that pseudonymises case references, and what the outbox knows of a case.

The outbox stores, with each packet, ``HMAC-SHA256(key, normalised reference)``
instead of the case reference: enough to recognise a case this kiosk already
enrolled, useless to anyone reading the database without the key. The key is
32 random bytes in ``<state_dir>/case-key`` (mode 0600), made on first use; a
lost key only means older packets are no longer recognised.

Until the case service (issue 17) answers this centrally, :class:`CaseHistory`
is the kiosk's own memory: delivered (a tombstone with central's receipt, kept
for the retention period), or enrolled here and still waiting in the outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from appliance.outbox.store import Outbox

KEY_BYTES = 32
DELIVERED = frozenset({"committed", "purged"})


class CaseKey:
    """HMAC key of this kiosk's case digests."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("the case key must be 32 bytes")
        self._key = key

    @classmethod
    def load_or_create(cls, path: Path) -> CaseKey:
        try:
            return cls(path.read_bytes())
        except FileNotFoundError:
            pass
        key = secrets.token_bytes(KEY_BYTES)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # never replaces a key another process made meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return cls(path.read_bytes())

    def digest(self, case_reference: str) -> str:
        normalised = case_reference.strip().upper().encode()
        return hmac.new(self._key, normalised, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CaseSeen:
    """What this kiosk already did for a case: the most telling of its packets."""

    seen: str  # delivered | enrolled (sealed here, not yet delivered)
    at: float  # time.time() of the delivery receipt, or of the enrolment


class CaseHistory:
    """Looks a case up among this kiosk's packets (queued, delivered or tombstones)."""

    def __init__(self, outbox: Outbox, key: CaseKey) -> None:
        self._outbox = outbox
        self.key = key

    def seen(self, case_reference: str) -> CaseSeen | None:
        rows = self._outbox.case_history(self.key.digest(case_reference))
        delivered = [updated for _, state, _, updated in rows if state in DELIVERED]
        if delivered:
            return CaseSeen("delivered", max(delivered))
        if rows:
            return CaseSeen("enrolled", max(created for _, _, created, _ in rows))
        return None
