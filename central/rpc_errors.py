"""Structured errors of the contract: a status code plus a ``google.rpc.ErrorInfo``.

Every error the reference receiver returns carries, in the standard
``grpc-status-details-bin`` trailer, a ``google.rpc.Status`` whose details hold
one ``google.rpc.ErrorInfo`` with ``domain`` :data:`DOMAIN` and one of the
``reason`` strings below (documented for implementers in
``proto/aima/enrolment/v1/packet_upload.proto``). Clients decide on the reason,
never on the message text.
"""

from __future__ import annotations

from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

#: ErrorInfo.domain of every reason below.
DOMAIN = "aima.enrolment.v1"

#: reason -> (status code, meaning). The single list the proto comments mirror.
REASONS: dict[str, tuple[grpc.StatusCode, str]] = {
    "MALFORMED_REQUEST": (grpc.StatusCode.INVALID_ARGUMENT, "the request is not a valid message"),
    "INVALID_PACKET_ID": (grpc.StatusCode.INVALID_ARGUMENT, "packet_id is not a UUID"),
    "INVALID_UPLOAD": (
        grpc.StatusCode.INVALID_ARGUMENT,
        "total_size or sha256_hex missing or out of range, or data beyond total_size",
    ),
    "INVALID_CSR": (grpc.StatusCode.INVALID_ARGUMENT, "a CSR is not DER or not ECDSA P-256"),
    "CERTIFICATE_REQUIRED": (grpc.StatusCode.UNAUTHENTICATED, "no client certificate"),
    "TOKEN_UNKNOWN": (grpc.StatusCode.UNAUTHENTICATED, "the enrolment token is unknown"),
    "TOKEN_USED": (grpc.StatusCode.UNAUTHENTICATED, "the token was used with another key"),
    "CERTIFICATE_INVALID": (
        grpc.StatusCode.PERMISSION_DENIED,
        "the device certificate is expired, revoked or not issued by central",
    ),
    "ROTATION_REFUSED": (grpc.StatusCode.PERMISSION_DENIED, "key rotation proof is invalid"),
    "DEVICE_MISMATCH": (
        grpc.StatusCode.PERMISSION_DENIED,
        "the packet belongs to, or was sealed by, another device or under another id",
    ),
    "ALREADY_COMMITTED": (
        grpc.StatusCode.FAILED_PRECONDITION,
        "the packet is committed: call Commit again for the receipt",
    ),
    "NOTHING_UPLOADED": (grpc.StatusCode.FAILED_PRECONDITION, "no upload for this packet id"),
    "UPLOAD_INCOMPLETE": (grpc.StatusCode.FAILED_PRECONDITION, "not every byte is written"),
    "OFFSET_MISMATCH": (
        grpc.StatusCode.OUT_OF_RANGE,
        "write_offset is not the committed size (metadata committed_size): query and resume",
    ),
    "CHECKSUM_MISMATCH": (
        grpc.StatusCode.DATA_LOSS,
        "the uploaded bytes do not hash to sha256_hex; central discarded them: upload again",
    ),
    "PACKET_REJECTED": (
        grpc.StatusCode.DATA_LOSS,
        "the sealed packet fails verification (metadata packet_error): quarantine, do not retry",
    ),
    "NO_MANAGED_CONFIG": (grpc.StatusCode.NOT_FOUND, "central manages no config for the device"),
    "INVALID_AUDIT": (
        grpc.StatusCode.INVALID_ARGUMENT,
        "an audit entry, checkpoint, proof or certificate is malformed or over its limit",
    ),
    "INVALID_LEDGER": (grpc.StatusCode.INVALID_ARGUMENT, "not a signed ledger of the format"),
    "AUDIT_SIGNATURE_INVALID": (
        grpc.StatusCode.PERMISSION_DENIED,
        "a checkpoint or ledger signature does not verify, or names another device",
    ),
    "AUDIT_ENTRIES_GAP": (
        grpc.StatusCode.OUT_OF_RANGE,
        "first_index is beyond the entries held (metadata entries_held): resend from there",
    ),
    "AUDIT_ENTRIES_MISSING": (
        grpc.StatusCode.FAILED_PRECONDITION,
        "the checkpoint covers entries central does not hold yet: send them first",
    ),
    "AUDIT_INCONSISTENT": (
        grpc.StatusCode.FAILED_PRECONDITION,
        "the log was rewritten or truncated (metadata flag): the device is flagged",
    ),
    "INVALID_REFERENCE": (
        grpc.StatusCode.INVALID_ARGUMENT,
        "LookupCase: not a case reference or appointment code",
    ),
    "INVALID_CHECK_IN": (
        grpc.StatusCode.INVALID_ARGUMENT,
        "CheckIn: bad check_in_id, appointment code or checked_in_at: do not retry",
    ),
    "INVALID_DAY": (
        grpc.StatusCode.INVALID_ARGUMENT,
        "GetDayList: day not YYYY-MM-DD or not within a day of central's date",
    ),
    "DEVICE_UNKNOWN": (grpc.StatusCode.PERMISSION_DENIED, "no site is registered for the device"),
    "APPOINTMENT_NOT_FOUND": (grpc.StatusCode.NOT_FOUND, "CheckIn: no such appointment"),
    "APPOINTMENT_OTHER_SITE": (
        grpc.StatusCode.PERMISSION_DENIED,
        "CheckIn: the appointment is at another site",
    ),
    "STORAGE_UNAVAILABLE": (
        grpc.StatusCode.UNAVAILABLE,
        "central's database or object store is unreachable (metadata component): retry",
    ),
    "INTERNAL": (grpc.StatusCode.INTERNAL, "unexpected server error: retry later"),
}


def rich_status(reason: str, message: str, **metadata: str) -> grpc.Status:
    code, _ = REASONS[reason]
    info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata)
    detail = any_pb2.Any()
    detail.Pack(info)
    status = status_pb2.Status(code=code.value[0], message=message, details=[detail])
    converted: grpc.Status = rpc_status.to_status(status)
    return converted


async def abort(context: Any, reason: str, message: str, **metadata: str) -> NoReturn:
    """End the RPC with ``reason``'s status code, ``message`` and the ErrorInfo trailer."""
    status = rich_status(reason, message, **metadata)
    await context.abort(status.code, status.details, trailing_metadata=status.trailing_metadata)
    raise AssertionError("unreachable: context.abort raises")
