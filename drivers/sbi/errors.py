"""SBI error codes and trust failures, translated into :mod:`drivers.errors`.

A device service reports failures as ``{"errorCode": "111", "errorInfo": "..."}``
(SBI 0.9.5 and 1.0 error tables, plus the 5xx-8xx codes the MOSIP reference
mock uses for stream and capture failures). ``errorInfo`` is free text in the
device's language; it goes into the exception detail, never into a UI key.

Trust failures (signature, certificate chain, timestamp) are
:class:`drivers.errors.DeviceNotApproved`: the device may work, but its data
cannot be accepted.
"""

from __future__ import annotations

from drivers.errors import (
    DeviceBusy,
    DeviceCorruptData,
    DeviceDisconnected,
    DeviceError,
    DeviceNotApproved,
    DeviceTimeout,
)


class SbiTrustError(DeviceNotApproved):
    """A signed SBI payload failed verification; its data is discarded."""


class SbiSignatureInvalid(SbiTrustError):
    """The JWS is malformed, uses a refused algorithm, or its signature does not verify."""


class SbiCertificateUntrusted(SbiTrustError):
    """The device certificate does not chain to a configured trust anchor (or has expired)."""


class SbiTimestampSkew(SbiTrustError):
    """The signed timestamp is missing, unreadable or outside the allowed clock skew."""


class SbiProtocolError(DeviceCorruptData):
    """The service answered something that is not a valid SBI message."""


_BUSY = frozenset({"111", "607", "703", "803"})
_TIMEOUT = frozenset({"101", "609", "701", "801"})
_GONE = frozenset({"106", "202", "503", "605", "705", "805"})
_NOT_APPROVED = frozenset({"100", "103", "107"})
_CORRUPT = frozenset({"102", "105", "610", "710", "810"})

#: The error table of SBI 0.9.5 / 1.0, for log details (errorInfo is device text).
SBI_ERROR_TEXT: dict[str, str] = {
    "100": "device not registered",
    "101": "unable to detect a biometric object",
    "102": "technical error during extraction",
    "103": "device tamper detected",
    "104": "unable to connect to management server",
    "105": "image orientation error",
    "106": "device not found",
    "107": "device public key expired",
    "108": "domain public key missing",
    "109": "requested number of biometrics not supported",
    "110": "device is not ready",
    "111": "device is busy",
    "112": "invalid transaction id",
    "202": "no device connected",
}


def error_for_code(code: str, info: str = "", *, device_id: str | None = None) -> DeviceError:
    """The :mod:`drivers.errors` exception for a non-zero SBI ``errorCode``."""
    code = code.strip()
    text = SBI_ERROR_TEXT.get(code, "device service error")
    detail = f"SBI error {code} ({text})" + (f": {info}" if info else "")
    if code in _BUSY:
        return DeviceBusy(detail, device_id=device_id)
    if code in _TIMEOUT:
        return DeviceTimeout(detail, device_id=device_id)
    if code in _GONE:
        return DeviceDisconnected(detail, device_id=device_id)
    if code in _NOT_APPROVED:
        return DeviceNotApproved(detail, device_id=device_id)
    if code in _CORRUPT:
        return DeviceCorruptData(detail, device_id=device_id)
    return DeviceError(detail, device_id=device_id)


def is_success(code: object) -> bool:
    """Whether an ``errorCode`` value means success (``"0"``, ``0`` or absent)."""
    return code is None or str(code).strip() in ("", "0")


def error_fields(error: object) -> tuple[object, str]:
    """``(code, info)`` of an SBI ``error`` object, in either spelling.

    SBI 1.0 and the 0.9.5 text of 2021 write ``errorCode``/``errorInfo``; the
    June-2020 0.9.5 text (and services built from it) write ``errorcode``/
    ``errorinfo``. A code under either name counts; an object without one is
    success.
    """
    if not isinstance(error, dict):
        return None, ""
    code = error.get("errorCode", error.get("errorcode"))
    info = error.get("errorInfo", error.get("errorinfo", ""))
    return code, str(info if info is not None else "")


def raise_for_error(error: object) -> None:
    """Raise the mapped :class:`drivers.errors.DeviceError` unless ``error`` is success."""
    code, info = error_fields(error)
    if not is_success(code):
        raise error_for_code(str(code).strip(), info)
