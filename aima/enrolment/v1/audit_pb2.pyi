import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetAuditStateRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AuditState(_message.Message):
    __slots__ = ("entries_held", "checkpoint_size", "checkpoint_root", "checkpoint_time", "flagged")
    ENTRIES_HELD_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_SIZE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ROOT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_TIME_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FIELD_NUMBER: _ClassVar[int]
    entries_held: int
    checkpoint_size: int
    checkpoint_root: bytes
    checkpoint_time: _timestamp_pb2.Timestamp
    flagged: bool
    def __init__(self, entries_held: _Optional[int] = ..., checkpoint_size: _Optional[int] = ..., checkpoint_root: _Optional[bytes] = ..., checkpoint_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., flagged: _Optional[bool] = ...) -> None: ...

class UploadAuditRequest(_message.Message):
    __slots__ = ("first_index", "entries", "checkpoint", "consistency_proof", "signer_certificate_chain_der")
    FIRST_INDEX_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_PROOF_FIELD_NUMBER: _ClassVar[int]
    SIGNER_CERTIFICATE_CHAIN_DER_FIELD_NUMBER: _ClassVar[int]
    first_index: int
    entries: _containers.RepeatedScalarFieldContainer[bytes]
    checkpoint: bytes
    consistency_proof: _containers.RepeatedScalarFieldContainer[bytes]
    signer_certificate_chain_der: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, first_index: _Optional[int] = ..., entries: _Optional[_Iterable[bytes]] = ..., checkpoint: _Optional[bytes] = ..., consistency_proof: _Optional[_Iterable[bytes]] = ..., signer_certificate_chain_der: _Optional[_Iterable[bytes]] = ...) -> None: ...

class UploadLedgerRequest(_message.Message):
    __slots__ = ("ledger", "signer_certificate_chain_der")
    LEDGER_FIELD_NUMBER: _ClassVar[int]
    SIGNER_CERTIFICATE_CHAIN_DER_FIELD_NUMBER: _ClassVar[int]
    ledger: bytes
    signer_certificate_chain_der: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, ledger: _Optional[bytes] = ..., signer_certificate_chain_der: _Optional[_Iterable[bytes]] = ...) -> None: ...

class UploadLedgerResponse(_message.Message):
    __slots__ = ("day", "revision", "matches_receipts", "receipts_issued", "missing_at_kiosk", "unknown_at_central")
    DAY_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    MATCHES_RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_ISSUED_FIELD_NUMBER: _ClassVar[int]
    MISSING_AT_KIOSK_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_AT_CENTRAL_FIELD_NUMBER: _ClassVar[int]
    day: str
    revision: int
    matches_receipts: bool
    receipts_issued: int
    missing_at_kiosk: _containers.RepeatedScalarFieldContainer[str]
    unknown_at_central: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, day: _Optional[str] = ..., revision: _Optional[int] = ..., matches_receipts: _Optional[bool] = ..., receipts_issued: _Optional[int] = ..., missing_at_kiosk: _Optional[_Iterable[str]] = ..., unknown_at_central: _Optional[_Iterable[str]] = ...) -> None: ...
