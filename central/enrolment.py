"""``DeviceEnrolmentService``: one-time tokens turn a CSR into a device identity.

A token is spent with a conditional update in storage, so two replicas racing on
one token issue exactly one identity: the loser answers with the winner's stored
response when the CSR carries the same key (a retried call), and refuses otherwise.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from aima.enrolment.v1 import device_enrolment_pb2, device_enrolment_pb2_grpc
from central.keys_proto import encryption_keys
from central.rpc_errors import abort
from central.state import ReceiverState
from packet.errors import PacketError
from packet.trust import verify_signature

logger = logging.getLogger(__name__)

_DER = serialization.Encoding.DER
MAX_SITE_ID = 64


class EnrolmentServicer(device_enrolment_pb2_grpc.DeviceEnrolmentServiceServicer):
    def __init__(self, state: ReceiverState) -> None:
        self._state = state

    async def EnrolDevice(self, request: Any, context: Any) -> Any:
        storage = self._state.storage
        token = await storage.token_state(request.token)
        if token is None:
            await abort(context, "TOKEN_UNKNOWN", "unknown enrolment token")
        try:
            csr = x509.load_der_x509_csr(request.csr_der)
        except ValueError:
            await abort(context, "INVALID_CSR", "CSR is not valid DER")
        key_sha = hashlib.sha256(
            csr.public_key().public_bytes(_DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        ).hexdigest()
        if token.used:
            return await self._replay(token.csr_key_sha256, token.response, key_sha, context)
        device_id = f"dev-{uuid.uuid4().hex[:12]}"
        if request.current_certificate_der:
            device_id = await self._rotating_device(request, context)
        try:
            cert = self._state.ca.issue_from_csr(request.csr_der, device_id)
        except ValueError as exc:
            await abort(context, "INVALID_CSR", str(exc))
        tls_chain: list[bytes] = []
        if request.tls_csr_der:
            try:
                tls_cert = self._state.ca.issue_from_csr(request.tls_csr_der, device_id)
            except ValueError as exc:
                await abort(context, "INVALID_CSR", f"TLS CSR: {exc}")
            tls_chain = [tls_cert.public_bytes(_DER)]
        reply = device_enrolment_pb2.EnrolDeviceResponse(
            device_id=device_id,
            tls_certificate_chain_der=tls_chain,
            certificate_chain_der=[cert.public_bytes(_DER)],
            trust_anchors_der=[self._state.ca.certificate.public_bytes(_DER)],
            encryption_keys=encryption_keys(self._state),
            receipt_signer_certificate_der=self._state.signer_cert.public_bytes(_DER),
        )
        spent = await storage.use_token(
            request.token, device_id, key_sha, reply.SerializeToString()
        )
        if spent.csr_key_sha256 != key_sha or spent.response != reply.SerializeToString():
            # Another replica spent the token first.
            return await self._replay(spent.csr_key_sha256, spent.response, key_sha, context)
        site = str(request.site_id)[:MAX_SITE_ID]
        await storage.register_device(device_id, cert.serial_number, site, cert.public_bytes(_DER))
        if tls_chain:
            await storage.register_device(
                device_id, tls_cert.serial_number, site, tls_cert.public_bytes(_DER)
            )
        logger.info("enrolled a device for site %s", site)
        return reply

    async def _replay(
        self, used_key: str | None, response: bytes | None, key_sha: str, context: Any
    ) -> Any:
        if used_key == key_sha and response is not None:
            return device_enrolment_pb2.EnrolDeviceResponse.FromString(response)
        await abort(context, "TOKEN_USED", "enrolment token already used")

    async def _rotating_device(self, request: Any, context: Any) -> str:
        """Key rotation: the caller proves it holds the current identity; keep its id."""
        trust = await self._state.trust_store()
        try:
            current = x509.load_der_x509_certificate(request.current_certificate_der)
            trust.verify_chain([current])
            verify_signature(current, request.rotation_signature, request.csr_der)
        except (ValueError, PacketError) as exc:
            await abort(context, "ROTATION_REFUSED", f"rotation refused: {exc}")
        values = current.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)
        if not values:
            await abort(context, "ROTATION_REFUSED", "certificate names no device")
        return str(values[0].value)
