"""Who is calling, and small conversions shared by the servicers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from cryptography import x509
from google.protobuf.timestamp_pb2 import Timestamp

from central.rpc_errors import abort
from central.state import ReceiverState
from packet.certprofiles import DEVICE_TLS_CLIENT
from packet.errors import CertificateInvalid


async def authenticated_device(state: ReceiverState, context: Any) -> str:
    """The device id of the mTLS peer, whose certificate chains to the CA and is not revoked."""
    pems = context.auth_context().get("x509_pem_cert")
    if not pems:
        await abort(context, "CERTIFICATE_REQUIRED", "a device certificate is required")
    cert = x509.load_pem_x509_certificate(next(iter(pems)))
    trust = await state.trust_store()
    try:
        trust.verify_chain([cert], profile=DEVICE_TLS_CLIENT)
    except CertificateInvalid as exc:
        await abort(
            context, "CERTIFICATE_INVALID", f"{exc.code}: {exc}", certificate_error=exc.code
        )
    values = cert.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)
    if not values:
        await abort(context, "CERTIFICATE_INVALID", "certificate names no device")
    return str(values[0].value)


async def packet_id_of(value: str, context: Any) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        await abort(context, "INVALID_PACKET_ID", "packet_id must be a UUID")


def timestamp(moment: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def rfc3339_millis(moment: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC, milliseconds): the receipt's ``accepted_at``."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
