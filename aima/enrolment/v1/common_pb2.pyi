import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HpkeSuite(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HPKE_SUITE_UNSPECIFIED: _ClassVar[HpkeSuite]
    HPKE_SUITE_X25519_SHA256_AES256GCM: _ClassVar[HpkeSuite]
    HPKE_SUITE_MLKEM768X25519_SHA256_AES256GCM: _ClassVar[HpkeSuite]
HPKE_SUITE_UNSPECIFIED: HpkeSuite
HPKE_SUITE_X25519_SHA256_AES256GCM: HpkeSuite
HPKE_SUITE_MLKEM768X25519_SHA256_AES256GCM: HpkeSuite

class EncryptionKey(_message.Message):
    __slots__ = ("key_id", "suite", "public_key", "not_before", "not_after")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SUITE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    suite: HpkeSuite
    public_key: bytes
    not_before: _timestamp_pb2.Timestamp
    not_after: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[str] = ..., suite: _Optional[_Union[HpkeSuite, str]] = ..., public_key: _Optional[bytes] = ..., not_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeviceReport(_message.Message):
    __slots__ = ("device_id", "kind", "driver", "vendor", "model", "firmware", "usb_vid", "usb_pid", "state", "message_key")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_FIELD_NUMBER: _ClassVar[int]
    USB_VID_FIELD_NUMBER: _ClassVar[int]
    USB_PID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_KEY_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    kind: str
    driver: str
    vendor: str
    model: str
    firmware: str
    usb_vid: int
    usb_pid: int
    state: str
    message_key: str
    def __init__(self, device_id: _Optional[str] = ..., kind: _Optional[str] = ..., driver: _Optional[str] = ..., vendor: _Optional[str] = ..., model: _Optional[str] = ..., firmware: _Optional[str] = ..., usb_vid: _Optional[int] = ..., usb_pid: _Optional[int] = ..., state: _Optional[str] = ..., message_key: _Optional[str] = ...) -> None: ...
