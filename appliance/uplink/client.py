"""The uplink: uploads queued packets, resuming at central's committed offset.

For each packet: verify the blob's hash (quarantine on mismatch), ask central
how much it holds (``QueryWriteStatus``), stream the rest (``Write``), then
``Commit`` and verify central's signed receipt before the outbox deletes its
copy. Network failures leave the packet queued and back off exponentially
with jitter; central's idempotent commit makes every retry safe.

Central may run as several replicas: :func:`secure_channel` takes every address
and lets gRPC balance ``round_robin`` across them with client-side health checking
(a replica whose storage is down answers NOT_SERVING and is skipped). Retry or
quarantine is decided on the ``google.rpc.ErrorInfo`` reason central sends in
``grpc-status-details-bin``, never on message text.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from cryptography import x509
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2

from aima.enrolment.v1 import packet_upload_pb2, packet_upload_pb2_grpc
from appliance.outbox import Outbox, OutboxEntry
from appliance.tasks import cancel_and_wait
from packet.receipts import ReceiptInvalid, SignedReceipt, verify_receipt
from packet.trust import TrustStore

logger = logging.getLogger(__name__)

RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.CANCELLED,
}

#: ErrorInfo.domain of central's reasons (listed in proto/aima/enrolment/v1/common.proto).
ERROR_DOMAIN = "aima.enrolment.v1"
#: Central verified the bytes and the sealed packet itself is bad: keep it for a technician.
QUARANTINE_REASONS = frozenset({"PACKET_REJECTED"})
#: The health service name central reports per replica (storage reachable or not).
HEALTH_SERVICE = "aima.enrolment.v1.PacketUploadService"
_STATUS_DETAILS = "grpc-status-details-bin"
_MAX_STATUS_DETAILS = 64 << 10


@dataclass(frozen=True)
class TlsMaterial:
    """mTLS material: the device key/certificate and the CAs that sign central's certificate."""

    client_key_pem: bytes
    client_chain_pem: bytes
    trust_anchors_pem: bytes
    server_name: str | None = None


@dataclass(frozen=True)
class UplinkSettings:
    chunk_bytes: int = 1 << 20
    concurrency: int = 2
    bandwidth_bytes_s: int | None = None  # None: unlimited
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 60.0
    rpc_timeout_s: float = 60.0


def error_reason(exc: grpc.aio.AioRpcError) -> str | None:
    """Central's ``google.rpc.ErrorInfo`` reason for a failed call, if it sent one."""
    trailers: Any = exc.trailing_metadata() or ()
    for key, value in trailers:
        if key != _STATUS_DETAILS or not isinstance(value, bytes):
            continue
        if len(value) > _MAX_STATUS_DETAILS:
            return None
        try:
            status = status_pb2.Status.FromString(value)
        except DecodeError:
            return None
        for detail in status.details:
            info = error_details_pb2.ErrorInfo()
            if detail.Unpack(info) and info.domain == ERROR_DOMAIN:
                return str(info.reason)
    return None


def channel_target(endpoints: str | Sequence[str]) -> str:
    """The gRPC target for one address or several replicas' IP addresses.

    One ``host:port`` is used as is (gRPC's DNS resolver returns every address of a
    name, and round_robin spreads over them). Several addresses must be IP
    literals of one family (``ipv4:a:p,b:p`` / ``ipv6:[a]:p,[b]:p``): gRPC's
    static resolvers take only those; for host names publish one DNS name.
    """
    addresses = [endpoints] if isinstance(endpoints, str) else list(endpoints)
    if not addresses:
        raise ValueError("no central address")
    if len(addresses) == 1:
        return addresses[0]
    families = set()
    for address in addresses:
        host = address.rsplit(":", 1)[0].strip("[]")
        try:
            families.add(ipaddress.ip_address(host).version)
        except ValueError:
            raise ValueError(
                f"{address}: several central addresses must be IP addresses;"
                " for host names use one DNS name that resolves to every replica"
            ) from None
    if len(families) != 1:
        raise ValueError("central addresses mix IPv4 and IPv6")
    scheme = "ipv4" if families == {4} else "ipv6"
    return f"{scheme}:{','.join(addresses)}"


def secure_channel(
    endpoints: str | Sequence[str], tls: TlsMaterial, *, health_check: bool = True
) -> grpc.aio.Channel:
    """An mTLS channel balanced ``round_robin`` over every central address.

    With ``health_check`` a replica is used only while its health service says
    SERVING for :data:`HEALTH_SERVICE` (central turns that off when it loses its
    database or object store).
    """
    credentials = grpc.ssl_channel_credentials(
        root_certificates=tls.trust_anchors_pem,
        private_key=tls.client_key_pem,
        certificate_chain=tls.client_chain_pem,
    )
    service_config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
    if health_check:
        service_config["healthCheckConfig"] = {"serviceName": HEALTH_SERVICE}
    target = channel_target(endpoints)
    options: list[tuple[str, Any]] = [
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.max_send_message_length", 8 << 20),
        ("grpc.initial_reconnect_backoff_ms", 500),
        ("grpc.max_reconnect_backoff_ms", 30_000),
        ("grpc.service_config", json.dumps(service_config)),
    ]
    if tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    if target.startswith(("ipv4:", "ipv6:")):
        first = target.split(":", 1)[1].split(",")[0]
        options.append(("grpc.default_authority", first))
    return grpc.aio.secure_channel(target, credentials, options=options)


class _RateLimiter:
    """Token bucket for metered links.

    The bucket starts empty and holds at most a tenth of a second of traffic, so
    a metered link never sees a burst larger than that, even right after start.
    A write larger than the bucket is sent and then paid for by waiting (debt),
    which keeps the long-run rate exact whatever the chunk size.
    """

    BURST_SECONDS = 0.1

    def __init__(self, rate: int | None) -> None:
        self._rate = rate
        self._capacity = float(rate or 0) * self.BURST_SECONDS
        self._allowance = 0.0
        self._last = time.monotonic()

    async def take(self, count: int) -> None:
        if not self._rate:
            return
        now = time.monotonic()
        self._allowance = min(self._capacity, self._allowance + (now - self._last) * self._rate)
        self._last = now
        self._allowance -= count
        if self._allowance < 0:
            await asyncio.sleep(-self._allowance / self._rate)


class Uplink:
    """Drains an :class:`Outbox` into central's PacketUploadService."""

    def __init__(
        self,
        outbox: Outbox,
        channel: grpc.aio.Channel,
        receipt_signer: x509.Certificate,
        settings: UplinkSettings = UplinkSettings(),
        on_delivered: Callable[[float], None] | None = None,
        receipt_trust: TrustStore | None = None,
        on_operation: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        """``on_delivered(seconds)`` is called after each verified receipt (metrics).

        With ``receipt_trust`` (central's CAs from provisioning) the receipt
        signer must also chain to them at the receipt's ``accepted_at``.
        ``on_operation(event, fields)`` (the record of operations) hears
        ``packet.delivered`` (central's ``accepted_at`` and the receipt's SHA-256),
        ``packet.purged`` (the local copy deleted) and ``packet.quarantined``.
        """
        self._on_operation = on_operation
        self._outbox = outbox
        self._receipt_trust = receipt_trust
        self._channel = channel
        self._stub = packet_upload_pb2_grpc.PacketUploadServiceStub(channel)
        self._signer = receipt_signer
        self._settings = settings
        self._limiter = _RateLimiter(settings.bandwidth_bytes_s)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None
        #: central's ErrorInfo reason of the most recent failure (kept after later successes,
        #: for the technician; None: no failure carried one yet).
        self.last_reason: str | None = None
        self.last_success: float | None = None
        #: Recent upload-to-receipt times (bounded: a kiosk runs for months).
        self.latencies: deque[float] = deque(maxlen=4096)
        self._on_delivered = on_delivered

    def notify(self) -> None:
        """A packet was queued: upload now instead of waiting for the next retry."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="uplink")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def run(self) -> None:
        backoff = self._settings.backoff_initial_s
        while True:
            ok = await self.drain()
            if ok:
                backoff = self._settings.backoff_initial_s
                delay = 30.0
            else:
                delay = random.uniform(0, backoff)  # full jitter
                backoff = min(backoff * 2, self._settings.backoff_max_s)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def drain(self) -> bool:
        """Upload until the queue is empty; False when central could not be reached."""
        while True:
            batch = self._outbox.claim(self._settings.concurrency)
            if not batch:
                return True
            results = await asyncio.gather(*(self._upload_one(e) for e in batch))
            if not all(results):
                return False

    async def _upload_one(self, entry: OutboxEntry) -> bool:
        if not await asyncio.to_thread(self._outbox.verify_blob, entry):
            self._report("packet.quarantined", packet_id=entry.packet_id, reason="blob_corrupt")
            return True  # quarantined and reported; carry on with the rest
        started = time.monotonic()
        try:
            receipt = await self._transfer(entry)
        except grpc.aio.AioRpcError as exc:
            return self._failed(entry, exc)
        try:
            verify_receipt(
                SignedReceipt.from_bytes(receipt),
                self._signer,
                packet_id=entry.packet_id,
                sha256_hex=entry.sha256,
                size=entry.size,
                trust=self._receipt_trust,
            )
        except (ReceiptInvalid, ValueError, KeyError) as exc:
            self._outbox.release(entry.packet_id, f"receipt rejected: {exc}")
            self.last_error = "receipt_invalid"
            logger.error("central's receipt did not verify; the packet stays queued")
            return False
        self._outbox.commit(entry.packet_id, receipt)
        self._report_delivery(entry.packet_id, receipt)
        elapsed = time.monotonic() - started
        self.latencies.append(elapsed)
        if self._on_delivered is not None:
            self._on_delivered(elapsed)
        self.last_success = time.time()
        self.last_error = None  # the link works again; last_reason keeps the last failure's why
        return True

    def _report(self, event: str, **fields: Any) -> None:
        if self._on_operation is not None:
            self._on_operation(event, fields)  # the hook never raises

    def _report_delivery(self, packet_id: str, receipt: bytes) -> None:
        try:
            accepted_at = str(json.loads(SignedReceipt.from_bytes(receipt).payload)["accepted_at"])
        except (ValueError, KeyError):  # verified just before: cannot happen
            accepted_at = ""
        digest = hashlib.sha256(receipt).hexdigest()
        self._report(
            "packet.delivered", packet_id=packet_id, accepted_at=accepted_at, receipt_sha256=digest
        )
        self._report("packet.purged", packet_id=packet_id)

    def _failed(self, entry: OutboxEntry, exc: grpc.aio.AioRpcError) -> bool:
        code, details = exc.code(), exc.details() or ""
        reason = error_reason(exc)
        self.last_error = code.name.lower()
        self.last_reason = reason
        if reason in QUARANTINE_REASONS:
            # Central says the sealed packet itself is bad: keep it for a technician.
            self._outbox.quarantine(entry.packet_id, f"central rejected the packet: {details}")
            self._report("packet.quarantined", packet_id=entry.packet_id, reason=reason)
            return True
        # Anything else (CHECKSUM_MISMATCH included: central discarded its bytes) is
        # retried; without a reason the packet is kept queued, never quarantined.
        self._outbox.release(entry.packet_id, f"{code.name} {reason or ''}: {details}")
        if code not in RETRYABLE:
            logger.error("upload refused by central: %s %s", code.name, reason or "")
        return False

    async def _transfer(self, entry: OutboxEntry) -> bytes:
        timeout = self._settings.rpc_timeout_s
        status = await self._stub.QueryWriteStatus(
            packet_upload_pb2.QueryWriteStatusRequest(packet_id=entry.packet_id), timeout=timeout
        )
        if not status.committed and status.committed_size < entry.size:
            await self._stub.Write(self._requests(entry, status.committed_size), timeout=timeout)
        response = await self._stub.Commit(
            packet_upload_pb2.CommitRequest(
                packet_id=entry.packet_id, sha256_hex=entry.sha256, request_id=str(uuid.uuid4())
            ),
            timeout=timeout,
        )
        receipt = response.receipt
        return SignedReceipt(
            bytes(receipt.signed_payload),
            bytes(receipt.signature),
            receipt.signer_certificate_sha256_hex,
        ).to_bytes()

    async def _requests(self, entry: OutboxEntry, offset: int) -> AsyncIterator[Any]:
        request_id = str(uuid.uuid4())
        chunk = self._settings.chunk_bytes
        with entry.path.open("rb") as handle:
            handle.seek(offset)
            first = True
            while offset < entry.size:
                data = await asyncio.to_thread(handle.read, chunk)
                if not data:
                    break
                await self._limiter.take(len(data))
                end = offset + len(data)
                yield packet_upload_pb2.WriteRequest(
                    packet_id=entry.packet_id,
                    write_offset=offset,
                    data=data,
                    total_size=entry.size if first else 0,
                    sha256_hex=entry.sha256 if first else "",
                    finish_write=end == entry.size,
                    request_id=request_id,
                )
                first = False
                offset = end
