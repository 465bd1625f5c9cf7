import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LookupOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOOKUP_OUTCOME_UNSPECIFIED: _ClassVar[LookupOutcome]
    LOOKUP_OUTCOME_FOUND: _ClassVar[LookupOutcome]
    LOOKUP_OUTCOME_NOT_FOUND: _ClassVar[LookupOutcome]
    LOOKUP_OUTCOME_OTHER_SITE: _ClassVar[LookupOutcome]

class CaseStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CASE_STATUS_UNSPECIFIED: _ClassVar[CaseStatus]
    CASE_STATUS_OPEN: _ClassVar[CaseStatus]
    CASE_STATUS_SUSPENDED: _ClassVar[CaseStatus]
    CASE_STATUS_CLOSED: _ClassVar[CaseStatus]

class IdentityDocumentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IDENTITY_DOCUMENT_TYPE_UNSPECIFIED: _ClassVar[IdentityDocumentType]
    IDENTITY_DOCUMENT_TYPE_PASSPORT: _ClassVar[IdentityDocumentType]
    IDENTITY_DOCUMENT_TYPE_NATIONAL_ID_CARD: _ClassVar[IdentityDocumentType]
    IDENTITY_DOCUMENT_TYPE_RESIDENCE_PERMIT: _ClassVar[IdentityDocumentType]
    IDENTITY_DOCUMENT_TYPE_TRAVEL_DOCUMENT: _ClassVar[IdentityDocumentType]
    IDENTITY_DOCUMENT_TYPE_OTHER: _ClassVar[IdentityDocumentType]
LOOKUP_OUTCOME_UNSPECIFIED: LookupOutcome
LOOKUP_OUTCOME_FOUND: LookupOutcome
LOOKUP_OUTCOME_NOT_FOUND: LookupOutcome
LOOKUP_OUTCOME_OTHER_SITE: LookupOutcome
CASE_STATUS_UNSPECIFIED: CaseStatus
CASE_STATUS_OPEN: CaseStatus
CASE_STATUS_SUSPENDED: CaseStatus
CASE_STATUS_CLOSED: CaseStatus
IDENTITY_DOCUMENT_TYPE_UNSPECIFIED: IdentityDocumentType
IDENTITY_DOCUMENT_TYPE_PASSPORT: IdentityDocumentType
IDENTITY_DOCUMENT_TYPE_NATIONAL_ID_CARD: IdentityDocumentType
IDENTITY_DOCUMENT_TYPE_RESIDENCE_PERMIT: IdentityDocumentType
IDENTITY_DOCUMENT_TYPE_TRAVEL_DOCUMENT: IdentityDocumentType
IDENTITY_DOCUMENT_TYPE_OTHER: IdentityDocumentType

class LookupCaseRequest(_message.Message):
    __slots__ = ("reference",)
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    reference: str
    def __init__(self, reference: _Optional[str] = ...) -> None: ...

class LookupCaseResponse(_message.Message):
    __slots__ = ("outcome", "case_summary")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CASE_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    outcome: LookupOutcome
    case_summary: CaseSummary
    def __init__(self, outcome: _Optional[_Union[LookupOutcome, str]] = ..., case_summary: _Optional[_Union[CaseSummary, _Mapping]] = ...) -> None: ...

class CaseSummary(_message.Message):
    __slots__ = ("case_reference", "status", "appointment", "applicant", "document")
    CASE_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    APPLICANT_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    case_reference: str
    status: CaseStatus
    appointment: Appointment
    applicant: Applicant
    document: IdentityDocument
    def __init__(self, case_reference: _Optional[str] = ..., status: _Optional[_Union[CaseStatus, str]] = ..., appointment: _Optional[_Union[Appointment, _Mapping]] = ..., applicant: _Optional[_Union[Applicant, _Mapping]] = ..., document: _Optional[_Union[IdentityDocument, _Mapping]] = ...) -> None: ...

class Appointment(_message.Message):
    __slots__ = ("appointment_code", "site_id", "window_start", "window_end")
    APPOINTMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    appointment_code: str
    site_id: str
    window_start: _timestamp_pb2.Timestamp
    window_end: _timestamp_pb2.Timestamp
    def __init__(self, appointment_code: _Optional[str] = ..., site_id: _Optional[str] = ..., window_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Applicant(_message.Message):
    __slots__ = ("full_name", "date_of_birth", "nationality")
    FULL_NAME_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_FIELD_NUMBER: _ClassVar[int]
    NATIONALITY_FIELD_NUMBER: _ClassVar[int]
    full_name: str
    date_of_birth: str
    nationality: str
    def __init__(self, full_name: _Optional[str] = ..., date_of_birth: _Optional[str] = ..., nationality: _Optional[str] = ...) -> None: ...

class IdentityDocument(_message.Message):
    __slots__ = ("type", "number")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    type: IdentityDocumentType
    number: str
    def __init__(self, type: _Optional[_Union[IdentityDocumentType, str]] = ..., number: _Optional[str] = ...) -> None: ...

class CheckInRequest(_message.Message):
    __slots__ = ("check_in_id", "appointment_code", "checked_in_at", "verified_offline")
    CHECK_IN_ID_FIELD_NUMBER: _ClassVar[int]
    APPOINTMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    CHECKED_IN_AT_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_OFFLINE_FIELD_NUMBER: _ClassVar[int]
    check_in_id: str
    appointment_code: str
    checked_in_at: _timestamp_pb2.Timestamp
    verified_offline: bool
    def __init__(self, check_in_id: _Optional[str] = ..., appointment_code: _Optional[str] = ..., checked_in_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., verified_offline: _Optional[bool] = ...) -> None: ...

class CheckInResponse(_message.Message):
    __slots__ = ("recorded_check_in_id", "attended_at")
    RECORDED_CHECK_IN_ID_FIELD_NUMBER: _ClassVar[int]
    ATTENDED_AT_FIELD_NUMBER: _ClassVar[int]
    recorded_check_in_id: str
    attended_at: _timestamp_pb2.Timestamp
    def __init__(self, recorded_check_in_id: _Optional[str] = ..., attended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetDayListRequest(_message.Message):
    __slots__ = ("day",)
    DAY_FIELD_NUMBER: _ClassVar[int]
    day: str
    def __init__(self, day: _Optional[str] = ...) -> None: ...

class GetDayListResponse(_message.Message):
    __slots__ = ("signed_list", "signature", "signer_certificate_chain_der")
    SIGNED_LIST_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIGNER_CERTIFICATE_CHAIN_DER_FIELD_NUMBER: _ClassVar[int]
    signed_list: bytes
    signature: bytes
    signer_certificate_chain_der: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, signed_list: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., signer_certificate_chain_der: _Optional[_Iterable[bytes]] = ...) -> None: ...
