"""Assemble and run the reference receiver: state directory, TLS, services, health.

A replica's identity (device CA, HPKE keys, TLS/receipt certificate) is a set of
files under the state directory. The embedded back end creates them on first
start; replicas of the distributed back end share one set (a secrets volume,
created once with ``appliance-receiver init``) and refuse to start without it.

The standard gRPC health service answers ``SERVING`` only while the storage
answers: a probe every :data:`HEALTH_INTERVAL_S` seconds checks the database and
the object store, so kiosks' client-side health checking skips a replica that
lost either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from aima.enrolment.v1 import (
    audit_pb2,
    cases_pb2,
    device_enrolment_pb2,
    device_status_pb2,
    packet_upload_pb2,
)
from central.audit import AuditServicer
from central.cases.servicer import CaseDesk, CaseServicer
from central.device_ca import DeviceCA
from central.enrolment import EnrolmentServicer
from central.rpc_handlers import service_handler
from central.state import PacketSink, ReceiverState
from central.status import StatusServicer
from central.storage import CentralStorage
from central.storage.embedded import EmbeddedStorage
from central.upload import UploadServicer
from packet.keys import CentralKeyring, CentralPrivateKey, Suite

logger = logging.getLogger(__name__)

_PEM = serialization.Encoding.PEM
MAX_MESSAGE = 8 << 20
HEALTH_INTERVAL_S = 1.0


class MissingIdentity(RuntimeError):
    """The state directory lacks the receiver's shared identity (distributed replicas)."""


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
    root: Path,
    *,
    hosts: list[str],
    suite: Suite = Suite.X25519,
    sink: PacketSink | None = None,
    storage: CentralStorage | None = None,
    create: bool = True,
) -> ReceiverState:
    """The receiver's state; ``storage`` defaults to the embedded store under ``root``.

    With ``create=False`` (distributed replicas) a missing identity file is an error
    naming it instead of a new CA, key or certificate.
    """
    files = ReceiverFiles(root)
    if not create:
        for needed in (files.ca_dir / "ca.pem", files.keys, files.server_cert, files.server_key):
            if not needed.exists():
                raise MissingIdentity(
                    f"{needed} is missing: create the shared identity once with"
                    f" 'appliance-receiver init --dir {root}'"
                )
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
        storage=storage or EmbeddedStorage(root / "store"),
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

    def __init__(
        self, state: ReceiverState, allowlist: Path | None = None, cases: CaseDesk | None = None
    ) -> None:
        """``cases``: serve ``CaseService`` over that store and day-list signer."""
        self.state = state
        self.allowlist = allowlist
        self.cases = cases
        self.server: grpc.aio.Server | None = None
        self.port = 0  # mTLS: device certificate required
        self.enrol_port = 0  # server-authenticated TLS only, for EnrolDevice
        self.status_servicer: StatusServicer | None = None
        self.healthy = True
        self._health: Any = None
        self._service_names: list[str] = []
        self._health_task: asyncio.Task[None] | None = None

    async def start(self, address: str = "127.0.0.1:0", enrol_address: str = "127.0.0.1:0") -> int:
        """Listen on ``address`` (mTLS) and ``enrol_address`` (TLS, for enrolment only)."""
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE),
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ]
        )
        metrics = self.state.metrics
        self.status_servicer = StatusServicer(self.state, self.allowlist)
        services = [
            (device_enrolment_pb2, "DeviceEnrolmentService", EnrolmentServicer(self.state)),
            (packet_upload_pb2, "PacketUploadService", UploadServicer(self.state)),
            (device_status_pb2, "DeviceStatusService", self.status_servicer),
            (audit_pb2, "AuditService", AuditServicer(self.state)),
        ]
        if self.cases is not None:
            services.append((cases_pb2, "CaseService", CaseServicer(self.state, self.cases)))
        names = []
        for module, name, servicer in services:
            descriptor = module.DESCRIPTOR.services_by_name[name]
            server.add_generic_rpc_handlers((service_handler(servicer, descriptor, metrics),))
            names.append(descriptor.full_name)
        self._health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        self._service_names = list(names)
        names += [
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
        self.server = server
        await self.probe_storage()
        self._health_task = asyncio.create_task(self._health_loop(), name="storage-health")
        logger.info("receiver listening on port %d", self.port)
        return self.port

    async def probe_storage(self) -> bool:
        """Check the storage once and publish the result in gRPC health and metrics."""
        try:
            components = await self.state.storage.check()
        except Exception as exc:  # a probe must never kill the loop
            logger.warning("storage probe failed: %s", type(exc).__name__)
            components = {"database": False, "objects": False}
        for component, up in components.items():
            self.state.metrics.storage_up.labels(component=component).set(1 if up else 0)
        healthy = all(components.values())
        if healthy != self.healthy:
            logger.warning("storage %s", "reachable again" if healthy else f"down: {components}")
        self.healthy = healthy
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if healthy
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        if self._health is not None:
            for name in [*self._service_names, ""]:
                await self._health.set(name, status)
        return healthy

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_INTERVAL_S)
            await self.probe_storage()

    async def stop(self, grace: float = 2.0) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
            self._health_task = None
        if self.server is not None:
            await self.server.stop(grace)
            self.server = None
