from aima.enrolment.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EnrolDeviceRequest(_message.Message):
    __slots__ = ("token", "csr_der", "site_id", "kiosk_name", "software_version", "current_certificate_der", "rotation_signature", "tls_csr_der")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CSR_DER_FIELD_NUMBER: _ClassVar[int]
    SITE_ID_FIELD_NUMBER: _ClassVar[int]
    KIOSK_NAME_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CURRENT_CERTIFICATE_DER_FIELD_NUMBER: _ClassVar[int]
    ROTATION_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    TLS_CSR_DER_FIELD_NUMBER: _ClassVar[int]
    token: str
    csr_der: bytes
    site_id: str
    kiosk_name: str
    software_version: str
    current_certificate_der: bytes
    rotation_signature: bytes
    tls_csr_der: bytes
    def __init__(self, token: _Optional[str] = ..., csr_der: _Optional[bytes] = ..., site_id: _Optional[str] = ..., kiosk_name: _Optional[str] = ..., software_version: _Optional[str] = ..., current_certificate_der: _Optional[bytes] = ..., rotation_signature: _Optional[bytes] = ..., tls_csr_der: _Optional[bytes] = ...) -> None: ...

class EnrolDeviceResponse(_message.Message):
    __slots__ = ("device_id", "certificate_chain_der", "trust_anchors_der", "encryption_keys", "receipt_signer_certificate_der", "tls_certificate_chain_der")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_CHAIN_DER_FIELD_NUMBER: _ClassVar[int]
    TRUST_ANCHORS_DER_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_KEYS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_SIGNER_CERTIFICATE_DER_FIELD_NUMBER: _ClassVar[int]
    TLS_CERTIFICATE_CHAIN_DER_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    certificate_chain_der: _containers.RepeatedScalarFieldContainer[bytes]
    trust_anchors_der: _containers.RepeatedScalarFieldContainer[bytes]
    encryption_keys: _containers.RepeatedCompositeFieldContainer[_common_pb2.EncryptionKey]
    receipt_signer_certificate_der: bytes
    tls_certificate_chain_der: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, device_id: _Optional[str] = ..., certificate_chain_der: _Optional[_Iterable[bytes]] = ..., trust_anchors_der: _Optional[_Iterable[bytes]] = ..., encryption_keys: _Optional[_Iterable[_Union[_common_pb2.EncryptionKey, _Mapping]]] = ..., receipt_signer_certificate_der: _Optional[bytes] = ..., tls_certificate_chain_der: _Optional[_Iterable[bytes]] = ...) -> None: ...
