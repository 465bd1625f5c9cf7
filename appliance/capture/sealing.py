"""Sealing one enrolment's captures into the outbox: the only place packets are made.

The captures are streamed through :func:`packet.seal.seal_packet` (sign with the
device key, encrypt to central with HPKE) into the outbox's temporary file,
which the outbox renames into place only when complete, so a packet is either
wholly in the outbox or not at all. Sealing is blocking work: callers run
:meth:`PacketSealer.seal` in a worker thread.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from appliance import __version__
from appliance.audit.pseudonym import CaseKey
from appliance.capture.captures import EnrolmentCaptures
from appliance.capture.errors import CaptureError
from appliance.metrics import ApplianceMetrics
from appliance.outbox import Outbox, OutboxEntry, OutboxError, OutboxFull
from packet.boundedjson import JsonRejected, loads
from packet.keys import CentralPublicKey
from packet.manifest import EnrolmentMeta
from packet.receipts import MAX_RECEIPT, ReceiptInvalid, SignedReceipt
from packet.seal import DeviceSigner, ItemSource, seal_packet
from packet.timestamps import format_timestamp

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SealRequest:
    """Who, where and which enrolment: the manifest's header fields."""

    packet_id: str
    case_reference: str
    operator_id: str
    started_at: float  # time.time() when the enrolment started


@dataclass(frozen=True)
class Delivery:
    """Where a sealed packet is, as the outbox knows it (the receipt tells the truth).

    ``state``: ``stored`` (in the outbox, not yet acknowledged by central),
    ``received`` (central's signed receipt verified and kept), ``quarantined``
    (the stored copy failed its hash check: a technician must act) or ``unknown``.
    """

    state: str
    receipt_id: str | None = None  # first 16 hex digits of SHA-256 of the signed receipt
    received_at: str | None = None  # central's accepted_at (UTC, RFC 3339)


RECEIVED_STATES = frozenset({"committed", "purged"})


def delivery_of(outbox: Outbox, packet_id: str) -> Delivery:
    """The delivery state of one packet, with central's receipt once it is in."""
    state = outbox.state_of(packet_id)
    if state is None:
        return Delivery("unknown")
    if state == "quarantined":
        return Delivery("quarantined")
    if state not in RECEIVED_STATES:
        return Delivery("stored")
    raw = outbox.receipt_of(packet_id)
    if raw is None:  # cannot happen: commit stores the verified receipt
        return Delivery("received")
    receipt_id = hashlib.sha256(raw).hexdigest()[:16]
    try:
        payload = loads(SignedReceipt.from_bytes(raw).payload, max_bytes=MAX_RECEIPT, max_depth=1)
        accepted = payload.get("accepted_at")
    except (ReceiptInvalid, JsonRejected, AttributeError):
        accepted = None
    return Delivery("received", receipt_id, accepted if isinstance(accepted, str) else None)


def rfc3339(timestamp: float) -> str:
    """A ``time.time()`` value in the packet timestamp format (:mod:`packet.timestamps`)."""
    return format_timestamp(datetime.fromtimestamp(timestamp, UTC))


class PacketSealer:
    """Seals into the outbox with this kiosk's identity (present once provisioned)."""

    def __init__(
        self,
        outbox: Outbox,
        signer: DeviceSigner,
        central_key: CentralPublicKey,
        site_id: str,
        metrics: ApplianceMetrics,
        on_sealed: Callable[[], None] | None = None,
        case_key: CaseKey | None = None,
    ) -> None:
        self._outbox = outbox
        self._case_key = case_key
        self._signer = signer
        self._central_key = central_key
        self._site_id = site_id
        self._metrics = metrics
        self._on_sealed = on_sealed

    def knows(self, packet_id: str) -> bool:
        """The packet reached the outbox (queued, delivered or quarantined)."""
        return self._outbox.state_of(packet_id) is not None

    def delivery(self, packet_id: str) -> Delivery:
        return delivery_of(self._outbox, packet_id)

    def seal(self, captures: EnrolmentCaptures, request: SealRequest) -> OutboxEntry:
        """Seal every capture as packet ``request.packet_id`` (blocking)."""
        if not len(captures):
            raise CaptureError("seal.nothing_captured", "the enrolment has no captures")
        meta = EnrolmentMeta(
            site_id=self._site_id,
            operator_id=request.operator_id,
            case_reference=request.case_reference,
            software_version=__version__,
            started_at=rfc3339(request.started_at),
        )
        items = [
            ItemSource(
                capture.name,
                capture.item_type,
                capture.media_type,
                capture.data,
                quality={
                    k: v for k, v in capture.quality.items() if isinstance(v, int | float | str)
                },
                captured_at=rfc3339(capture.captured_at),
            )
            for capture in captures
        ]

        def write(handle: BinaryIO) -> tuple[int, str]:
            result = seal_packet(
                handle,
                items,
                signer=self._signer,
                central_key=self._central_key,
                meta=meta,
                packet_id=request.packet_id,
            )
            return result.size, result.sha256

        try:
            digest = self._case_key.digest(request.case_reference) if self._case_key else None
            entry = self._outbox.add(request.packet_id, write, case_digest=digest)
        except OutboxFull as exc:
            raise CaptureError("outbox.full", str(exc)) from None
        except OutboxError as exc:
            raise CaptureError("outbox.error", str(exc)) from None
        self._metrics.packets_sealed.inc()
        if self._on_sealed is not None:
            self._on_sealed()  # wake the uplink
        return entry
