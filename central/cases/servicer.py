"""``CaseService``: case lookup, check-in and the signed day list (contract cases.proto).

The caller's site is the one registered for its device at enrolment; a request
never names a site, and a kiosk never sees a case whose appointments are all at
other sites (it learns only that fact). Nothing here logs a case reference, a
name or any other personal data: logs carry outcomes and counts only.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from aima.enrolment.v1 import cases_pb2, cases_pb2_grpc
from central.cases.store import AppointmentRecord, CaseRecord, CaseStore, CheckInRecord
from central.cases.synthetic import SyntheticCases
from central.peer import authenticated_device, timestamp
from central.rpc_errors import abort
from central.state import ReceiverState
from packet.daylist import (
    APPOINTMENT_CODE,
    DAY,
    CaseAppointment,
    DayList,
    is_appointment_code,
    sign_day_list,
    valid_reference,
)

logger = logging.getLogger(__name__)

MAX_FUTURE = dt.timedelta(minutes=5)
MAX_AGE = dt.timedelta(days=7)
_STATUS = {
    "open": cases_pb2.CASE_STATUS_OPEN,
    "suspended": cases_pb2.CASE_STATUS_SUSPENDED,
    "closed": cases_pb2.CASE_STATUS_CLOSED,
}
_DOCUMENT = {
    "passport": cases_pb2.IDENTITY_DOCUMENT_TYPE_PASSPORT,
    "national_id_card": cases_pb2.IDENTITY_DOCUMENT_TYPE_NATIONAL_ID_CARD,
    "residence_permit": cases_pb2.IDENTITY_DOCUMENT_TYPE_RESIDENCE_PERMIT,
    "travel_document": cases_pb2.IDENTITY_DOCUMENT_TYPE_TRAVEL_DOCUMENT,
    "other": cases_pb2.IDENTITY_DOCUMENT_TYPE_OTHER,
}


@dataclass
class CaseDesk:
    """What the case service needs: the store, the day-list signer, optional synthetic seed."""

    store: CaseStore
    signer_key: ec.EllipticCurvePrivateKey
    signer_chain: list[x509.Certificate]
    synthetic: SyntheticCases | None = None
    clock: Any = field(default=lambda: dt.datetime.now(dt.UTC))

    async def site_day(self, site_id: str, now: dt.datetime) -> tuple[ZoneInfo, dt.date]:
        zone = ZoneInfo(await self.store.time_zone(site_id))
        return zone, now.astimezone(zone).date()

    async def seed(self, site_id: str, now: dt.datetime) -> None:
        """Synthetic sites: make sure yesterday's, today's and tomorrow's cases exist."""
        if self.synthetic is None or site_id not in self.synthetic.sites:
            return
        _, today = await self.site_day(site_id, now)
        for offset in (-1, 0, 1):
            await self.synthetic.ensure(site_id, today + dt.timedelta(days=offset))


def pick_appointment(appointments: list[AppointmentRecord], now: dt.datetime) -> AppointmentRecord:
    """The window containing ``now``, else the next to come, else the latest past one."""
    current = [a for a in appointments if a.window_start <= now < a.window_end]
    if current:
        return current[0]
    upcoming = [a for a in appointments if a.window_start > now]
    if upcoming:
        return min(upcoming, key=lambda a: a.window_start)
    return max(appointments, key=lambda a: a.window_start)


def case_appointment(case: CaseRecord, appointment: AppointmentRecord) -> CaseAppointment:
    return CaseAppointment(
        case_reference=case.case_reference,
        case_status=case.status,
        appointment_code=appointment.appointment_code,
        site_id=appointment.site_id,
        window_start=appointment.window_start,
        window_end=appointment.window_end,
        full_name=case.full_name,
        date_of_birth=case.date_of_birth,
        nationality=case.nationality,
        document_type=case.document_type,
        document_number=case.document_number,
    )


def summary(case: CaseRecord, appointment: AppointmentRecord) -> Any:
    return cases_pb2.CaseSummary(
        case_reference=case.case_reference,
        status=_STATUS[case.status],
        appointment=cases_pb2.Appointment(
            appointment_code=appointment.appointment_code,
            site_id=appointment.site_id,
            window_start=timestamp(appointment.window_start),
            window_end=timestamp(appointment.window_end),
        ),
        applicant=cases_pb2.Applicant(
            full_name=case.full_name,
            date_of_birth=case.date_of_birth,
            nationality=case.nationality,
        ),
        document=cases_pb2.IdentityDocument(
            type=_DOCUMENT[case.document_type], number=case.document_number
        ),
    )


class CaseServicer(cases_pb2_grpc.CaseServiceServicer):
    def __init__(self, state: ReceiverState, desk: CaseDesk) -> None:
        self._state = state
        self._desk = desk

    async def _caller(self, context: Any) -> tuple[str, str]:
        """(device id, its site) of the mTLS peer; DEVICE_UNKNOWN without a registered site."""
        device_id = await authenticated_device(self._state, context)
        site = await self._state.storage.device_site(device_id)
        if not site:
            await abort(context, "DEVICE_UNKNOWN", "no site is registered for this device")
        return device_id, site

    async def LookupCase(self, request: Any, context: Any) -> Any:
        _, site = await self._caller(context)
        reference = str(request.reference)
        if not valid_reference(reference):
            await abort(context, "INVALID_REFERENCE", "not a case reference or appointment code")
        now = self._desk.clock()
        await self._desk.seed(site, now)
        store = self._desk.store
        if is_appointment_code(reference):
            appointment = await store.appointment(reference)
            if appointment is None:
                return _outcome(cases_pb2.LOOKUP_OUTCOME_NOT_FOUND)
            if appointment.site_id != site:
                return _outcome(cases_pb2.LOOKUP_OUTCOME_OTHER_SITE)
            case = await store.case(appointment.case_reference)
        else:
            case = await store.case(reference)
            if case is None:
                return _outcome(cases_pb2.LOOKUP_OUTCOME_NOT_FOUND)
            here = [a for a in await store.appointments_of(reference) if a.site_id == site]
            if not here:
                return _outcome(cases_pb2.LOOKUP_OUTCOME_OTHER_SITE)
            appointment = pick_appointment(here, now)
        if case is None:  # an appointment without its case: treat as unknown
            return _outcome(cases_pb2.LOOKUP_OUTCOME_NOT_FOUND)
        return cases_pb2.LookupCaseResponse(
            outcome=cases_pb2.LOOKUP_OUTCOME_FOUND, case_summary=summary(case, appointment)
        )

    async def CheckIn(self, request: Any, context: Any) -> Any:
        device_id, site = await self._caller(context)
        now = self._desk.clock()
        try:
            check_in_id = str(uuid.UUID(request.check_in_id))
        except ValueError:
            await abort(context, "INVALID_CHECK_IN", "check_in_id is not a UUID")
        if check_in_id != request.check_in_id:
            await abort(context, "INVALID_CHECK_IN", "check_in_id is not in canonical form")
        if not APPOINTMENT_CODE.fullmatch(request.appointment_code):
            await abort(context, "INVALID_CHECK_IN", "appointment_code is not in its format")
        if not request.HasField("checked_in_at"):
            await abort(context, "INVALID_CHECK_IN", "checked_in_at is missing")
        checked_in_at = request.checked_in_at.ToDatetime(tzinfo=dt.UTC)
        if not now - MAX_AGE <= checked_in_at <= now + MAX_FUTURE:
            await abort(context, "INVALID_CHECK_IN", "checked_in_at is out of range")
        appointment = await self._desk.store.appointment(request.appointment_code)
        if appointment is None:
            await abort(context, "APPOINTMENT_NOT_FOUND", "no such appointment")
        if appointment.site_id != site:
            await abort(context, "APPOINTMENT_OTHER_SITE", "the appointment is at another site")
        recorded = await self._desk.store.check_in(
            CheckInRecord(
                check_in_id=check_in_id,
                appointment_code=appointment.appointment_code,
                device_id=device_id,
                checked_in_at=checked_in_at,
                verified_offline=bool(request.verified_offline),
                received_at=now,
            )
        )
        if recorded is None:
            await abort(context, "INVALID_CHECK_IN", "check_in_id is used for another appointment")
        first = recorded.check_in_id == check_in_id
        logger.info("check-in %s (%s)", "recorded" if first else "already on record", site)
        return cases_pb2.CheckInResponse(
            recorded_check_in_id=recorded.check_in_id,
            attended_at=timestamp(recorded.checked_in_at),
        )

    async def GetDayList(self, request: Any, context: Any) -> Any:
        device_id, site = await self._caller(context)
        now = self._desk.clock()
        if not DAY.fullmatch(request.day):
            await abort(context, "INVALID_DAY", "day is not YYYY-MM-DD")
        try:
            day = dt.date.fromisoformat(request.day)
        except ValueError:
            await abort(context, "INVALID_DAY", "day is not a calendar date")
        zone, today = await self._desk.site_day(site, now)
        if abs((day - today).days) > 1:
            await abort(context, "INVALID_DAY", "central serves yesterday, today and tomorrow")
        await self._desk.seed(site, now)
        start = dt.datetime.combine(day, dt.time(0), zone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone)
        rows = await self._desk.store.appointments_starting(site, start, end)
        listed = DayList(
            site_id=site,
            day=day,
            time_zone=zone.key,
            device_id=device_id,
            issued_at=now,
            not_after=end.astimezone(dt.UTC),
            appointments=tuple(case_appointment(c, a) for c, a in rows),
        )
        signed = sign_day_list(listed, self._desk.signer_key, self._desk.signer_chain)
        logger.info("day list of %s for %s: %d appointments", day, site, len(rows))
        return cases_pb2.GetDayListResponse(
            signed_list=signed.signed_list,
            signature=signed.signature,
            signer_certificate_chain_der=list(signed.chain_der),
        )


def _outcome(outcome: cases_pb2.LookupOutcome) -> Any:
    return cases_pb2.LookupCaseResponse(outcome=outcome)
