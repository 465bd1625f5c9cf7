"""Assemble and run the reference receiver: state directory, TLS, services, health."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from aima.enrolment.v1 import (
    device_enrolment_pb2,
    device_enrolment_pb2_grpc,
    device_status_pb2,
    device_status_pb2_grpc,
    packet_upload_pb2,
    packet_upload_pb2_grpc,
)
from central.device_ca import DeviceCA
from central.service import (
    EnrolmentServicer,
    PacketSink,
    ReceiverState,
    StatusServicer,
    UploadServicer,
)
from central.store import ReceiverStore
from packet.keys import CentralKeyring, CentralPrivateKey, Suite

logger = logging.getLogger(__name__)

_PEM = serialization.Encoding.PEM
MAX_MESSAGE = 8 << 20


@dataclass(frozen=True)
class ReceiverFiles:
    """Where a receiver keeps its identity (created on first start)."""

    root: Path

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def keys(self) -> Path:
        return self.root / "central-keys.json"

    @property
    def server_key(self) -> Path:
        return self.root / "server-key.pem"

    @property
    def server_cert(self) -> Path:
        return self.root / "server.pem"


def load_or_create_state(
    root: Path, *, hosts: list[str], suite: Suite = Suite.X25519, sink: PacketSink | None = None
) -> ReceiverState:
    files = ReceiverFiles(root)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    if (files.ca_dir / "ca.pem").exists():
        ca = DeviceCA.load(files.ca_dir)
    else:
        ca = DeviceCA.create()
        ca.save(files.ca_dir)
    if files.keys.exists():
        keyring = CentralKeyring.load(files.keys)
        keys = keyring.all()
    else:
        keys = [CentralPrivateKey.generate("central-1", suite)]
        CentralKeyring(keys).save(files.keys)
        keyring = CentralKeyring(keys)
    if files.server_cert.exists():
        key = serialization.load_pem_private_key(files.server_key.read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    else:
        key, cert = ca.issue_server(hosts)
        files.server_key.write_bytes(
            key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        files.server_key.chmod(0o600)
        files.server_cert.write_bytes(cert.public_bytes(_PEM))
    state = ReceiverState(
        store=ReceiverStore(root / "store"),
        ca=ca,
        keyring=keyring,
        encryption_keys=keys,
        signer_key=key,
        signer_cert=cert,
    )
    if sink is not None:
        state.sink = sink
    return state


class Receiver:
    """A running grpc.aio receiver."""

    def __init__(self, state: ReceiverState, allowlist: Path | None = None) -> None:
        self.state = state
        self.allowlist = allowlist
        self.server: grpc.aio.Server | None = None
        self.port = 0  # mTLS: device certificate required
        self.enrol_port = 0  # server-authenticated TLS only, for EnrolDevice
        self.status_servicer: StatusServicer | None = None

    async def start(self, address: str = "127.0.0.1:0", enrol_address: str = "127.0.0.1:0") -> int:
        """Listen on ``address`` (mTLS) and ``enrol_address`` (TLS, for enrolment only)."""
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE),
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ]
        )
        device_enrolment_pb2_grpc.add_DeviceEnrolmentServiceServicer_to_server(
            EnrolmentServicer(self.state), server
        )
        packet_upload_pb2_grpc.add_PacketUploadServiceServicer_to_server(
            UploadServicer(self.state), server
        )
        self.status_servicer = StatusServicer(self.state, self.allowlist)
        device_status_pb2_grpc.add_DeviceStatusServiceServicer_to_server(
            self.status_servicer, server
        )
        health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        names = [
            device_enrolment_pb2.DESCRIPTOR.services_by_name["DeviceEnrolmentService"].full_name,
            packet_upload_pb2.DESCRIPTOR.services_by_name["PacketUploadService"].full_name,
            device_status_pb2.DESCRIPTOR.services_by_name["DeviceStatusService"].full_name,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ]
        reflection.enable_server_reflection(names, server)
        key_pair = [
            (
                self.state.signer_key.private_bytes(
                    _PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ),
                self.state.signer_cert.public_bytes(_PEM),
            )
        ]
        mtls = grpc.ssl_server_credentials(
            key_pair,
            root_certificates=self.state.ca.certificate.public_bytes(_PEM),
            require_client_auth=True,
        )
        tls_only = grpc.ssl_server_credentials(key_pair)
        self.port = server.add_secure_port(address, mtls)
        self.enrol_port = server.add_secure_port(enrol_address, tls_only)
        if self.port == 0 or self.enrol_port == 0:
            raise OSError(f"cannot listen on {address} / {enrol_address}")
        await server.start()
        for name in names[:3]:
            await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        self.server = server
        logger.info("receiver listening on port %d", self.port)
        return self.port

    async def stop(self, grace: float = 2.0) -> None:
        if self.server is not None:
            await self.server.stop(grace)
            self.server = None
