import datetime

from aima.enrolment.v1 import common_pb2 as _common_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HeartbeatRequest(_message.Message):
    __slots__ = ("device_time", "software_version", "image_version", "models_version", "devices", "outbox_depth", "outbox_bytes", "outbox_oldest_age_s", "outbox_quarantined", "certificate_days_left", "config_version", "allowlist_version")
    DEVICE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODELS_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_BYTES_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_OLDEST_AGE_S_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_QUARANTINED_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_DAYS_LEFT_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    ALLOWLIST_VERSION_FIELD_NUMBER: _ClassVar[int]
    device_time: _timestamp_pb2.Timestamp
    software_version: str
    image_version: str
    models_version: str
    devices: _containers.RepeatedCompositeFieldContainer[_common_pb2.DeviceReport]
    outbox_depth: int
    outbox_bytes: int
    outbox_oldest_age_s: int
    outbox_quarantined: int
    certificate_days_left: int
    config_version: str
    allowlist_version: str
    def __init__(self, device_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., software_version: _Optional[str] = ..., image_version: _Optional[str] = ..., models_version: _Optional[str] = ..., devices: _Optional[_Iterable[_Union[_common_pb2.DeviceReport, _Mapping]]] = ..., outbox_depth: _Optional[int] = ..., outbox_bytes: _Optional[int] = ..., outbox_oldest_age_s: _Optional[int] = ..., outbox_quarantined: _Optional[int] = ..., certificate_days_left: _Optional[int] = ..., config_version: _Optional[str] = ..., allowlist_version: _Optional[str] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("server_time", "config_version", "allowlist_version", "encryption_keys")
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    ALLOWLIST_VERSION_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_KEYS_FIELD_NUMBER: _ClassVar[int]
    server_time: _timestamp_pb2.Timestamp
    config_version: str
    allowlist_version: str
    encryption_keys: _containers.RepeatedCompositeFieldContainer[_common_pb2.EncryptionKey]
    def __init__(self, server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., config_version: _Optional[str] = ..., allowlist_version: _Optional[str] = ..., encryption_keys: _Optional[_Iterable[_Union[_common_pb2.EncryptionKey, _Mapping]]] = ...) -> None: ...

class GetDeviceConfigRequest(_message.Message):
    __slots__ = ("known_version",)
    KNOWN_VERSION_FIELD_NUMBER: _ClassVar[int]
    known_version: str
    def __init__(self, known_version: _Optional[str] = ...) -> None: ...

class GetDeviceConfigResponse(_message.Message):
    __slots__ = ("version", "config_yaml")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_YAML_FIELD_NUMBER: _ClassVar[int]
    version: str
    config_yaml: str
    def __init__(self, version: _Optional[str] = ..., config_yaml: _Optional[str] = ...) -> None: ...

class GetApprovedDevicesRequest(_message.Message):
    __slots__ = ("known_version",)
    KNOWN_VERSION_FIELD_NUMBER: _ClassVar[int]
    known_version: str
    def __init__(self, known_version: _Optional[str] = ...) -> None: ...

class GetApprovedDevicesResponse(_message.Message):
    __slots__ = ("version", "devices")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    version: str
    devices: _containers.RepeatedCompositeFieldContainer[ApprovedDevice]
    def __init__(self, version: _Optional[str] = ..., devices: _Optional[_Iterable[_Union[ApprovedDevice, _Mapping]]] = ...) -> None: ...

class ApprovedDevice(_message.Message):
    __slots__ = ("usb_vid", "usb_pid", "kind", "vendor", "model", "min_firmware", "certification", "capture_profile")
    USB_VID_FIELD_NUMBER: _ClassVar[int]
    USB_PID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MIN_FIRMWARE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATION_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_PROFILE_FIELD_NUMBER: _ClassVar[int]
    usb_vid: int
    usb_pid: int
    kind: str
    vendor: str
    model: str
    min_firmware: str
    certification: str
    capture_profile: str
    def __init__(self, usb_vid: _Optional[int] = ..., usb_pid: _Optional[int] = ..., kind: _Optional[str] = ..., vendor: _Optional[str] = ..., model: _Optional[str] = ..., min_firmware: _Optional[str] = ..., certification: _Optional[str] = ..., capture_profile: _Optional[str] = ...) -> None: ...
