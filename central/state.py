"""What every servicer of one receiver replica shares: storage, keys, CA, trust, metrics.

Revocations live in storage (``appliance-receiver revoke`` or any replica writes
them); each replica re-reads the revoked serials at most every
:data:`REVOCATION_REFRESH_S` seconds, so a revocation written anywhere is honoured
by every replica within that time plus one database round trip. The CRL the
trust store checks is re-signed only when the set of revoked serials changes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from central.device_ca import DeviceCA
from central.metrics import ReceiverMetrics
from central.storage import CentralStorage
from packet.keys import CentralKeyring, CentralPrivateKey
from packet.open import DiscardSink, ItemSink, OpenedPacket
from packet.trust import TrustStore

#: Longest time a revocation written by another replica can go unnoticed here.
REVOCATION_REFRESH_S = 1.0
#: The in-memory CRL is re-signed at least this often (it is valid for days).
CRL_REISSUE_S = 3600.0


class PacketSink(Protocol):
    """Where a production back end takes accepted packets.

    ``item_sink`` receives the decrypted items while a packet is verified
    (provisional until ``accepted`` is called; ``abort`` on failure);
    ``accepted`` is called after verification and before the receipt is returned,
    so a sink failure means no receipt and a retry. With several replicas two of
    them may accept the same packet id in a commit race: ``accepted`` must be
    idempotent by packet id.
    """

    def item_sink(self, packet_id: str) -> ItemSink: ...

    def accepted(self, opened: OpenedPacket, sealed_path: Path) -> None: ...


class IndexOnlySink:
    """The default: keeps the sealed packet and the verified manifest only."""

    def item_sink(self, packet_id: str) -> ItemSink:
        return DiscardSink()

    def accepted(self, opened: OpenedPacket, sealed_path: Path) -> None:
        pass


@dataclass
class ReceiverState:
    storage: CentralStorage
    ca: DeviceCA
    keyring: CentralKeyring
    encryption_keys: list[CentralPrivateKey]
    signer_key: ec.EllipticCurvePrivateKey
    signer_cert: x509.Certificate
    sink: PacketSink = field(default_factory=IndexOnlySink)
    metrics: ReceiverMetrics = field(default_factory=ReceiverMetrics)
    commits: int = 0
    _storage_revoked: dict[int, dt.datetime] = field(default_factory=dict)
    _revoked_read_at: float = -1e9
    _trust: TrustStore | None = None
    _trust_serials: frozenset[int] | None = None
    _trust_built_at: float = -1e9
    _refresh_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def store(self) -> Any:
        """The embedded back end's synchronous store (tests and tools); others have none."""
        store = getattr(self.storage, "store", None)
        if store is None:
            raise AttributeError(f"the {self.storage.backend} back end has no local store")
        return store

    async def trust_store(self) -> TrustStore:
        """Trust anchors and a CRL with every revocation known to storage (refreshed)."""
        if time.monotonic() - self._revoked_read_at >= REVOCATION_REFRESH_S:
            async with self._refresh_lock:
                if time.monotonic() - self._revoked_read_at >= REVOCATION_REFRESH_S:
                    self._storage_revoked = await self.storage.revoked_serials()
                    self._revoked_read_at = time.monotonic()
        return self.trust()

    def trust(self) -> TrustStore:
        """The trust store from what is known now (no storage round trip)."""
        for serial, when in self._storage_revoked.items():
            self.ca.revoked.setdefault(serial, when)
        serials = frozenset(self.ca.revoked)
        stale = time.monotonic() - self._trust_built_at > CRL_REISSUE_S
        if self._trust is None or serials != self._trust_serials or stale:
            # Central issues the CRL itself, so a missing one is a bug: fail closed.
            self._trust = TrustStore([self.ca.certificate], [self.ca.crl()], require_crl=True)
            self._trust_serials = serials
            self._trust_built_at = time.monotonic()
        return self._trust
