"""The kiosk's side of ``CaseService`` (proto/aima/enrolment/v1/cases.proto).

Calls go over the uplink's mTLS channel (round robin over central's replicas).
What comes back is translated at this boundary: a found case becomes a
:class:`packet.daylist.CaseAppointment` (its formats checked, as for the day
list), a transport failure or a retryable status becomes :class:`Unreachable`,
and a refusal central documents as final becomes :class:`Refused` with its
``google.rpc.ErrorInfo`` reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from aima.enrolment.v1 import cases_pb2, cases_pb2_grpc
from appliance.cases.model import CheckInTicket
from appliance.uplink.client import error_reason
from packet.daylist import CaseAppointment, DayListInvalid, SignedDayList

#: Reasons after which sending the same request again cannot succeed.
FINAL_REASONS = frozenset(
    {
        "INVALID_REFERENCE",
        "INVALID_CHECK_IN",
        "INVALID_DAY",
        "APPOINTMENT_NOT_FOUND",
        "APPOINTMENT_OTHER_SITE",
        "DEVICE_UNKNOWN",
        "MALFORMED_REQUEST",
    }
)
_STATUS = {
    cases_pb2.CASE_STATUS_OPEN: "open",
    cases_pb2.CASE_STATUS_SUSPENDED: "suspended",
    cases_pb2.CASE_STATUS_CLOSED: "closed",
}
_DOCUMENT = {
    cases_pb2.IDENTITY_DOCUMENT_TYPE_PASSPORT: "passport",
    cases_pb2.IDENTITY_DOCUMENT_TYPE_NATIONAL_ID_CARD: "national_id_card",
    cases_pb2.IDENTITY_DOCUMENT_TYPE_RESIDENCE_PERMIT: "residence_permit",
    cases_pb2.IDENTITY_DOCUMENT_TYPE_TRAVEL_DOCUMENT: "travel_document",
    cases_pb2.IDENTITY_DOCUMENT_TYPE_OTHER: "other",
}


class Unreachable(Exception):
    """Central did not answer (or answered with a retryable error): use the day list, retry."""


class Refused(Exception):
    """Central refused for good; ``reason`` is its ErrorInfo reason (None when it gave none)."""

    def __init__(self, reason: str | None, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _failure(exc: grpc.aio.AioRpcError) -> Exception:
    reason = error_reason(exc)
    if reason in FINAL_REASONS:
        return Refused(reason, f"{exc.code().name} {reason}")
    return Unreachable(f"{exc.code().name} {reason or ''}".strip())


def _when(stamp: Timestamp) -> dt.datetime:
    return stamp.ToDatetime(tzinfo=dt.UTC)


def case_from_summary(summary: Any) -> CaseAppointment:
    """A LookupCase answer as the kiosk's case model (raises DayListInvalid when malformed)."""
    status = _STATUS.get(summary.status)
    document = _DOCUMENT.get(summary.document.type)
    if status is None or document is None:
        raise DayListInvalid("field_invalid", "case status or document type is unspecified")
    return CaseAppointment(
        case_reference=summary.case_reference,
        case_status=status,
        appointment_code=summary.appointment.appointment_code,
        site_id=summary.appointment.site_id,
        window_start=_when(summary.appointment.window_start),
        window_end=_when(summary.appointment.window_end),
        full_name=summary.applicant.full_name,
        date_of_birth=summary.applicant.date_of_birth,
        nationality=summary.applicant.nationality,
        document_type=document,
        document_number=summary.document.number,
    )


class CaseClient:
    """One object per kiosk, over the uplink's channel."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = cases_pb2_grpc.CaseServiceStub(channel)

    async def lookup(self, reference: str, timeout_s: float) -> tuple[str, CaseAppointment | None]:
        """("found", case) | ("not_found", None) | ("other_site", None)."""
        try:
            reply = await self._stub.LookupCase(
                cases_pb2.LookupCaseRequest(reference=reference), timeout=timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            raise _failure(exc) from None
        if reply.outcome == cases_pb2.LOOKUP_OUTCOME_FOUND:
            try:
                return "found", case_from_summary(reply.case_summary)
            except DayListInvalid as exc:
                raise Refused("MALFORMED_ANSWER", f"central's case is malformed: {exc}") from None
        if reply.outcome == cases_pb2.LOOKUP_OUTCOME_OTHER_SITE:
            return "other_site", None
        if reply.outcome == cases_pb2.LOOKUP_OUTCOME_NOT_FOUND:
            return "not_found", None
        raise Refused("MALFORMED_ANSWER", "central's lookup outcome is unspecified")

    async def check_in(self, ticket: CheckInTicket, timeout_s: float) -> str:
        """Deliver ``ticket``; returns the check-in id central has on record."""
        stamp = Timestamp()
        stamp.FromDatetime(ticket.checked_in_utc)
        try:
            reply = await self._stub.CheckIn(
                cases_pb2.CheckInRequest(
                    check_in_id=ticket.check_in_id,
                    appointment_code=ticket.appointment_code,
                    checked_in_at=stamp,
                    verified_offline=ticket.verified_offline,
                ),
                timeout=timeout_s,
            )
        except grpc.aio.AioRpcError as exc:
            raise _failure(exc) from None
        return str(reply.recorded_check_in_id)

    async def day_list(self, day: dt.date, timeout_s: float) -> SignedDayList:
        """The signed list as received (verify it with packet.daylist.verify_day_list)."""
        try:
            reply = await self._stub.GetDayList(
                cases_pb2.GetDayListRequest(day=day.isoformat()), timeout=timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            raise _failure(exc) from None
        return SignedDayList(
            bytes(reply.signed_list),
            bytes(reply.signature),
            tuple(bytes(c) for c in reply.signer_certificate_chain_der),
        )
