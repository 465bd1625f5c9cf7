import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WriteRequest(_message.Message):
    __slots__ = ("packet_id", "write_offset", "data", "total_size", "sha256_hex", "finish_write", "request_id")
    PACKET_ID_FIELD_NUMBER: _ClassVar[int]
    WRITE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_HEX_FIELD_NUMBER: _ClassVar[int]
    FINISH_WRITE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    packet_id: str
    write_offset: int
    data: bytes
    total_size: int
    sha256_hex: str
    finish_write: bool
    request_id: str
    def __init__(self, packet_id: _Optional[str] = ..., write_offset: _Optional[int] = ..., data: _Optional[bytes] = ..., total_size: _Optional[int] = ..., sha256_hex: _Optional[str] = ..., finish_write: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class WriteResponse(_message.Message):
    __slots__ = ("committed_size",)
    COMMITTED_SIZE_FIELD_NUMBER: _ClassVar[int]
    committed_size: int
    def __init__(self, committed_size: _Optional[int] = ...) -> None: ...

class QueryWriteStatusRequest(_message.Message):
    __slots__ = ("packet_id",)
    PACKET_ID_FIELD_NUMBER: _ClassVar[int]
    packet_id: str
    def __init__(self, packet_id: _Optional[str] = ...) -> None: ...

class QueryWriteStatusResponse(_message.Message):
    __slots__ = ("committed_size", "complete", "committed")
    COMMITTED_SIZE_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    committed_size: int
    complete: bool
    committed: bool
    def __init__(self, committed_size: _Optional[int] = ..., complete: _Optional[bool] = ..., committed: _Optional[bool] = ...) -> None: ...

class CommitRequest(_message.Message):
    __slots__ = ("packet_id", "sha256_hex", "request_id")
    PACKET_ID_FIELD_NUMBER: _ClassVar[int]
    SHA256_HEX_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    packet_id: str
    sha256_hex: str
    request_id: str
    def __init__(self, packet_id: _Optional[str] = ..., sha256_hex: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CommitResponse(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: Receipt
    def __init__(self, receipt: _Optional[_Union[Receipt, _Mapping]] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("signed_payload", "signature", "signer_certificate_sha256_hex", "packet_id", "accepted_at")
    SIGNED_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIGNER_CERTIFICATE_SHA256_HEX_FIELD_NUMBER: _ClassVar[int]
    PACKET_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    signed_payload: bytes
    signature: bytes
    signer_certificate_sha256_hex: str
    packet_id: str
    accepted_at: _timestamp_pb2.Timestamp
    def __init__(self, signed_payload: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., signer_certificate_sha256_hex: _Optional[str] = ..., packet_id: _Optional[str] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
