"""What the outbox knows of a case: its keyed digest, never the reference.

The outbox stores, with each packet, the case digest of
:mod:`appliance.audit.pseudonym` (``HMAC-SHA256(key, normalised reference)``
with the kiosk's ``<state_dir>/case-key``) instead of the case reference:
enough to recognise a case this kiosk already enrolled, useless to anyone
reading the database without the key. The record of operations stores the
same digest, so both name a case the same way.

Beside the case service (which knows the case), :class:`CaseHistory`
is the kiosk's own memory: delivered (a tombstone with central's receipt, kept
for the retention period), or enrolled here and still waiting in the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.audit.pseudonym import CaseKey
from appliance.outbox.store import Outbox

DELIVERED = frozenset({"committed", "purged"})


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
