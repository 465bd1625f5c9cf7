"""gRPC services of the reference receiver (contract ``aima.enrolment.v1``).

One grpc.aio server on one port with TLS. Client certificates are optional at
the TLS layer (enrolment has none yet) and required by every RPC except
``EnrolDevice``: the servicer checks the peer certificate against the device
CA and its revocation list and takes the device id from it.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf.timestamp_pb2 import Timestamp

from aima.enrolment.v1 import (
    common_pb2,
    device_enrolment_pb2,
    device_enrolment_pb2_grpc,
    device_status_pb2,
    device_status_pb2_grpc,
    packet_upload_pb2,
    packet_upload_pb2_grpc,
)
from central.device_ca import DeviceCA
from central.store import MAX_PACKET_BYTES, ReceiverStore
from packet.errors import CertificateInvalid, PacketError
from packet.keys import CentralKeyring, CentralPrivateKey, Suite
from packet.open import DiscardSink, ItemSink, OpenedPacket, open_packet
from packet.receipts import SignedReceipt, sign_receipt
from packet.trust import TrustStore, verify_signature

logger = logging.getLogger(__name__)

_DER = serialization.Encoding.DER
Ctx = grpc.aio.ServicerContext[Any, Any]
_SUITES = {
    Suite.X25519: common_pb2.HPKE_SUITE_X25519_SHA256_AES256GCM,
    Suite.MLKEM768_X25519: common_pb2.HPKE_SUITE_MLKEM768X25519_SHA256_AES256GCM,
}


class PacketSink(Protocol):
    """Where a production back end takes accepted packets.

    ``item_sink`` receives the decrypted items while a packet is verified
    (provisional until ``accepted`` is called; ``abort`` on failure);
    ``accepted`` is called once per packet id, after verification and before
    the receipt is returned, so a sink failure means no receipt and a retry.
    """

    def item_sink(self, packet_id: str) -> ItemSink: ...

    def accepted(self, opened: OpenedPacket, sealed_path: Path) -> None: ...


class IndexOnlySink:
    """The embedded default: keeps the sealed packet and the verified manifest only."""

    def item_sink(self, packet_id: str) -> ItemSink:
        return DiscardSink()

    def accepted(self, opened: OpenedPacket, sealed_path: Path) -> None:
        pass


@dataclass
class ReceiverState:
    store: ReceiverStore
    ca: DeviceCA
    keyring: CentralKeyring
    encryption_keys: list[CentralPrivateKey]
    signer_key: ec.EllipticCurvePrivateKey
    signer_cert: x509.Certificate
    sink: PacketSink = field(default_factory=IndexOnlySink)
    commits: int = 0

    def trust(self) -> TrustStore:
        return TrustStore([self.ca.certificate], [self.ca.crl()])


def _timestamp(moment: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


async def _authenticated_device(state: ReceiverState, context: Ctx) -> str:
    pems = context.auth_context().get("x509_pem_cert")
    if not pems:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "a device certificate is required")
    cert = x509.load_pem_x509_certificate(next(iter(pems)))
    try:
        state.trust().verify_chain([cert])
    except CertificateInvalid as exc:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"{exc.code}: {exc}")
    values = cert.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)
    if not values:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, "certificate names no device")
    return str(values[0].value)


class EnrolmentServicer(device_enrolment_pb2_grpc.DeviceEnrolmentServiceServicer):
    def __init__(self, state: ReceiverState) -> None:
        self._state = state

    async def EnrolDevice(self, request: Any, context: Ctx) -> Any:
        store = self._state.store
        token = store.token_state(request.token)
        if token is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "unknown enrolment token")
        assert token is not None
        try:
            csr = x509.load_der_x509_csr(request.csr_der)
        except ValueError:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "CSR is not valid DER")
        key_sha = hashlib.sha256(
            csr.public_key().public_bytes(_DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        ).hexdigest()
        used, used_key, response = token
        if used:
            if used_key == key_sha and response is not None:
                return device_enrolment_pb2.EnrolDeviceResponse.FromString(response)
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "enrolment token already used")
        device_id = f"dev-{uuid.uuid4().hex[:12]}"
        if request.current_certificate_der:
            device_id = await self._rotating_device(request, context)
        try:
            cert = self._state.ca.issue_from_csr(request.csr_der, device_id)
        except ValueError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        tls_chain: list[bytes] = []
        if request.tls_csr_der:
            try:
                tls_cert = self._state.ca.issue_from_csr(request.tls_csr_der, device_id)
            except ValueError as exc:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"TLS CSR: {exc}")
            tls_chain = [tls_cert.public_bytes(_DER)]
        reply = device_enrolment_pb2.EnrolDeviceResponse(
            device_id=device_id,
            tls_certificate_chain_der=tls_chain,
            certificate_chain_der=[cert.public_bytes(_DER)],
            trust_anchors_der=[self._state.ca.certificate.public_bytes(_DER)],
            encryption_keys=_encryption_keys(self._state),
            receipt_signer_certificate_der=self._state.signer_cert.public_bytes(_DER),
        )
        store.use_token(request.token, device_id, key_sha, reply.SerializeToString())
        logger.info("enrolled a device for site %s", request.site_id)
        return reply

    async def _rotating_device(self, request: Any, context: Ctx) -> str:
        """Key rotation: the caller proves it holds the current identity; keep its id."""
        try:
            current = x509.load_der_x509_certificate(request.current_certificate_der)
            self._state.trust().verify_chain([current])
            verify_signature(current, request.rotation_signature, request.csr_der)
        except (ValueError, PacketError) as exc:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"rotation refused: {exc}")
        values = current.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)
        if not values:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "certificate names no device")
        return str(values[0].value)


def _encryption_keys(state: ReceiverState) -> list[Any]:
    now = dt.datetime.now(dt.UTC)
    return [
        common_pb2.EncryptionKey(
            key_id=key.key_id,
            suite=_SUITES[key.suite],
            public_key=key.public().raw,
            not_before=_timestamp(now - dt.timedelta(days=1)),
            not_after=_timestamp(now + dt.timedelta(days=365)),
        )
        for key in state.encryption_keys
    ]


class UploadServicer(packet_upload_pb2_grpc.PacketUploadServiceServicer):
    def __init__(self, state: ReceiverState) -> None:
        self._state = state
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, packet_id: str) -> asyncio.Lock:
        return self._locks.setdefault(packet_id, asyncio.Lock())

    async def Write(self, request_iterator: AsyncIterator[Any], context: Ctx) -> Any:
        device_id = await _authenticated_device(self._state, context)
        store = self._state.store
        committed = 0
        async for request in request_iterator:
            packet_id = _packet_id(request.packet_id)
            if packet_id is None:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "packet_id must be a UUID")
            assert packet_id is not None
            if store.committed(packet_id) is not None:
                await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "already committed")
            info = store.upload_info(packet_id)
            if info is None:
                if request.total_size <= 0 or request.total_size > MAX_PACKET_BYTES:
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad total_size")
                if len(request.sha256_hex) != 64:
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad sha256_hex")
                store.begin_upload(packet_id, device_id, request.total_size, request.sha256_hex)
                info = (device_id, request.total_size, request.sha256_hex)
            if info[0] != device_id:
                await context.abort(grpc.StatusCode.PERMISSION_DENIED, "packet of another device")
            if request.write_offset + len(request.data) > info[1]:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "data beyond total_size")
            async with self._lock(packet_id):
                committed = await asyncio.to_thread(
                    store.append, packet_id, request.write_offset, request.data
                )
            if committed != request.write_offset + len(request.data):
                await context.abort(grpc.StatusCode.OUT_OF_RANGE, f"committed_size={committed}")
        return packet_upload_pb2.WriteResponse(committed_size=committed)

    async def QueryWriteStatus(self, request: Any, context: Ctx) -> Any:
        await _authenticated_device(self._state, context)
        packet_id = _packet_id(request.packet_id)
        if packet_id is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "packet_id must be a UUID")
        assert packet_id is not None
        stored = self._state.store.committed(packet_id)
        if stored is not None:
            return packet_upload_pb2.QueryWriteStatusResponse(
                committed_size=stored.size, complete=True, committed=True
            )
        size = self._state.store.committed_size(packet_id)
        info = self._state.store.upload_info(packet_id)
        return packet_upload_pb2.QueryWriteStatusResponse(
            committed_size=size, complete=info is not None and size == info[1]
        )

    async def Commit(self, request: Any, context: Ctx) -> Any:
        device_id = await _authenticated_device(self._state, context)
        packet_id = _packet_id(request.packet_id)
        if packet_id is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "packet_id must be a UUID")
        assert packet_id is not None
        async with self._lock(packet_id):
            return await self._commit(packet_id, device_id, request.sha256_hex, context)

    async def _commit(self, packet_id: str, device_id: str, sha256_hex: str, context: Ctx) -> Any:
        state, store = self._state, self._state.store
        stored = store.committed(packet_id)
        if stored is not None:
            if stored.device_id != device_id:
                await context.abort(grpc.StatusCode.PERMISSION_DENIED, "packet of another device")
            return _commit_response(packet_id, stored.receipt)
        info = store.upload_info(packet_id)
        if info is None or info[0] != device_id:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "nothing uploaded")
        assert info is not None
        size = store.committed_size(packet_id)
        if size != info[1]:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"only {size} bytes written")
        actual = await asyncio.to_thread(store.staged_sha256, packet_id)
        if actual != info[2] or actual != sha256_hex:
            store.discard_staged(packet_id)
            await context.abort(grpc.StatusCode.DATA_LOSS, "SHA-256 mismatch; upload again")
        path = store.staged_path(packet_id)
        try:
            opened = await asyncio.to_thread(self._open, path, packet_id)
        except PacketError as exc:
            store.discard_staged(packet_id)
            state_code = (
                grpc.StatusCode.PERMISSION_DENIED
                if isinstance(exc, CertificateInvalid)
                else grpc.StatusCode.DATA_LOSS
            )
            await context.abort(state_code, f"{exc.code}: {exc}")
        if opened.manifest.device_id != device_id or opened.header.packet_id != packet_id:
            store.discard_staged(packet_id)
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                "packet was sealed by another device or under another id",
            )
        state.sink.accepted(opened, path)
        receipt = sign_receipt(
            state.signer_key,
            state.signer_cert,
            packet_id=packet_id,
            device_id=device_id,
            sha256_hex=actual,
            size=size,
            accepted_at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        ).to_bytes()
        manifest = json.loads(opened.manifest_bytes)
        store.store(packet_id, device_id, size, actual, receipt, json.dumps(manifest))
        state.commits += 1
        logger.info("accepted packet from %s", device_id)
        return _commit_response(packet_id, receipt)

    def _open(self, path: Path, packet_id: str) -> OpenedPacket:
        with path.open("rb") as handle:
            return open_packet(
                handle,
                self._state.keyring,
                self._state.trust(),
                self._state.sink.item_sink(packet_id),
            )


def _commit_response(packet_id: str, receipt_bytes: bytes) -> Any:
    receipt = SignedReceipt.from_bytes(receipt_bytes)
    fields = json.loads(receipt.payload)
    accepted = dt.datetime.fromisoformat(fields["accepted_at"])
    return packet_upload_pb2.CommitResponse(
        receipt=packet_upload_pb2.Receipt(
            signed_payload=receipt.payload,
            signature=receipt.signature,
            signer_certificate_sha256_hex=receipt.signer_sha256,
            packet_id=packet_id,
            accepted_at=_timestamp(accepted),
        )
    )


def _packet_id(value: str) -> str | None:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


class StatusServicer(device_status_pb2_grpc.DeviceStatusServiceServicer):
    def __init__(self, state: ReceiverState, allowlist: Path | None) -> None:
        self._state = state
        self._allowlist = allowlist
        self.last_heartbeat: dict[str, Any] = {}

    async def Heartbeat(self, request: Any, context: Ctx) -> Any:
        device_id = await _authenticated_device(self._state, context)
        self.last_heartbeat[device_id] = request
        return device_status_pb2.HeartbeatResponse(
            server_time=_timestamp(dt.datetime.now(dt.UTC)),
            config_version="none",
            allowlist_version=self._allowlist_version(),
            encryption_keys=_encryption_keys(self._state),
        )

    async def GetDeviceConfig(self, request: Any, context: Ctx) -> Any:
        await _authenticated_device(self._state, context)
        await context.abort(grpc.StatusCode.NOT_FOUND, "no managed config for this device")

    async def GetApprovedDevices(self, request: Any, context: Ctx) -> Any:
        await _authenticated_device(self._state, context)
        version = self._allowlist_version()
        if request.known_version == version or self._allowlist is None:
            return device_status_pb2.GetApprovedDevicesResponse(version=version)
        from ruamel.yaml import YAML

        data = YAML(typ="safe").load(self._allowlist.read_text())
        devices = [
            device_status_pb2.ApprovedDevice(
                usb_vid=int(d["vid"]),
                usb_pid=int(d["pid"]),
                kind=d["kind"],
                vendor=d.get("vendor", ""),
                model=d["model"],
                min_firmware=d.get("min_firmware", ""),
                certification=d.get("certification", ""),
                capture_profile=d.get("capture_profile", ""),
            )
            for d in data.get("devices", [])
        ]
        return device_status_pb2.GetApprovedDevicesResponse(version=version, devices=devices)

    def _allowlist_version(self) -> str:
        if self._allowlist is None or not self._allowlist.exists():
            return "none"
        return hashlib.sha256(self._allowlist.read_bytes()).hexdigest()[:16]


def encode_key_b64(key: CentralPrivateKey) -> str:
    return base64.b64encode(key.public().raw).decode()
