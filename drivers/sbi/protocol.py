"""SBI 0.9.5 / 1.0 messages: request bodies, response shapes, names and the hash chain.

The two versions differ in small ways this module hides:

=====================  =========================  ==============================
                       0.9.5                       1.0
=====================  =========================  ==============================
device identity        ``deviceId`` (+deviceCode)  ``serialNo``
capture/stream target  ``bio[].deviceId``          ``bio[].serialNo``
discovery request      ``{"type"}``                ``{"type", "specVersion"}``
certification          ``L0`` / ``L1``             ``SBI 1.0`` / ``SBI 2.0``
=====================  =========================  ==============================

Both are sent with the methods of the reference implementations
(``MOSIPDISC``, ``MOSIPDINFO``, ``RCAPTURE``, ``STREAM``).

The capture ``hash`` chains every biometric of a transaction:
``hash = HEX(SHA256(bytes(previousHash) || SHA256(ISO bytes)))``, upper case,
starting from SHA256 of the empty string. One enrolment is one chain: every
RCAPTURE of it (slaps, thumbs, face) sends the last hash of the one before as
``previousHash`` (a :class:`CaptureChain` per enrolment carries it).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from drivers.errors import DeviceError
from drivers.interfaces import FingerPosition
from drivers.sbi.errors import SbiProtocolError
from drivers.sbi.jws import unverified_payload

SUPPORTED_VERSIONS = ("1.0", "0.9.5")  # newest first
DISCOVER = ("MOSIPDISC", "/device")
INFO = ("MOSIPDINFO", "/info")
RCAPTURE = ("RCAPTURE", "/capture")
STREAM = ("STREAM", "/stream")

#: SBI bioSubType names of the ten fingers.
FINGER_NAMES: dict[FingerPosition, str] = {
    FingerPosition.RIGHT_THUMB: "Right Thumb",
    FingerPosition.RIGHT_INDEX: "Right IndexFinger",
    FingerPosition.RIGHT_MIDDLE: "Right MiddleFinger",
    FingerPosition.RIGHT_RING: "Right RingFinger",
    FingerPosition.RIGHT_LITTLE: "Right LittleFinger",
    FingerPosition.LEFT_THUMB: "Left Thumb",
    FingerPosition.LEFT_INDEX: "Left IndexFinger",
    FingerPosition.LEFT_MIDDLE: "Left MiddleFinger",
    FingerPosition.LEFT_RING: "Left RingFinger",
    FingerPosition.LEFT_LITTLE: "Left LittleFinger",
}
FINGER_BY_NAME = {name: position for position, name in FINGER_NAMES.items()}

#: deviceSubId of a slap device: 1 left slap, 2 right slap, 3 two thumbs.
SUB_LEFT, SUB_RIGHT, SUB_THUMBS = 1, 2, 3
_TRANSACTION_ID = re.compile(r"^[A-Za-z0-9-]{4,50}$")
EMPTY_HASH = hashlib.sha256(b"").hexdigest().upper()


def sub_id_for(position: FingerPosition) -> int:
    if position in (FingerPosition.LEFT_THUMB, FingerPosition.RIGHT_THUMB):
        return SUB_THUMBS
    return (
        SUB_LEFT
        if FingerPosition.LEFT_INDEX <= position <= FingerPosition.LEFT_LITTLE
        else (SUB_RIGHT)
    )


def new_transaction_id() -> str:
    return "claim-" + secrets.token_hex(12)


def valid_transaction_id(value: str) -> bool:
    return bool(_TRANSACTION_ID.match(value))


def chain_hash(previous_hash: str, iso_bytes: bytes) -> str:
    """The next link of the capture hash chain (upper-case hex)."""
    try:
        previous = bytes.fromhex(previous_hash)
    except ValueError:
        raise SbiProtocolError("previous hash is not hex") from None
    return hashlib.sha256(previous + hashlib.sha256(iso_bytes).digest()).hexdigest().upper()


@dataclass
class CaptureChain:
    """The ``previousHash`` chain of one enrolment, across all its RCAPTUREs.

    Create one when an enrolment starts and pass it to every capture request
    of that enrolment (finger and face devices alike). It advances only after
    a capture verified, and only from the hash that capture was sent, so a
    failed or concurrent capture cannot fork it silently.
    """

    last_hash: str = EMPTY_HASH
    captures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def advance(self, sent_previous: str, new_last: str) -> None:
        with self._lock:
            if sent_previous != self.last_hash:
                raise SbiProtocolError("capture chain moved while a capture was in flight")
            self.last_hash = new_last
            self.captures += 1


def pick_version(offered: list[str], wanted: str) -> str:
    """The spec version to speak with a device offering ``offered``."""
    if wanted != "auto":
        if wanted not in offered:
            raise SbiProtocolError(f"device does not speak SBI {wanted} (offers {offered})")
        return wanted
    for version in SUPPORTED_VERSIONS:
        if version in offered:
            return version
    raise SbiProtocolError(f"device offers no SBI version this driver speaks ({offered})")


@dataclass(frozen=True)
class DigitalId:
    serial: str
    make: str
    model: str
    bio_type: str
    device_sub_type: str
    provider: str
    date_time: str

    @classmethod
    def parse(cls, data: object) -> DigitalId:
        if not isinstance(data, dict):
            raise SbiProtocolError("digitalId is not an object")
        return cls(
            serial=str(data.get("serialNo", "")),
            make=str(data.get("make", "")),
            model=str(data.get("model", "")),
            bio_type=str(data.get("type", "")),
            device_sub_type=str(data.get("deviceSubType", data.get("subType", ""))),
            provider=str(data.get("deviceProvider", "")),
            date_time=str(data.get("dateTime", "")),
        )


@dataclass(frozen=True)
class DiscoveredDevice:
    """One entry of a MOSIPDISC answer (unsigned: a hint, not a trusted identity)."""

    port: int
    device_id: str  # 0.9.5 deviceId; equals the serial number under 1.0
    serial: str  # serialNo (1.0) or the digital id's; empty when the service sends neither
    status: str
    certification: str
    purpose: str
    spec_versions: tuple[str, ...]
    sub_ids: tuple[int, ...]
    bio_type: str
    device_sub_type: str
    digital_id: DigitalId | None = None  # unsigned in discovery: a hint only
    device_code: str = ""  # 0.9.5 deviceCode ("same as serialNo", not always in practice)

    @property
    def ready(self) -> bool:
        return self.status == "Ready"


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def parse_discovery(port: int, body: object) -> list[DiscoveredDevice]:
    if not isinstance(body, list):
        raise SbiProtocolError("MOSIPDISC answer is not an array")
    devices = []
    for entry in body:
        if not isinstance(entry, dict):
            continue
        digital: DigitalId | None = None
        raw_id = entry.get("digitalId")
        if isinstance(raw_id, str) and raw_id:
            try:
                digital = DigitalId.parse(json.loads(unverified_payload(raw_id)))
            except (ValueError, DeviceError):
                digital = None
        serial = str(entry.get("serialNo") or (digital.serial if digital else "") or "")
        devices.append(
            DiscoveredDevice(
                port=port,
                device_id=str(entry.get("deviceId") or serial),
                serial=serial,
                status=str(entry.get("deviceStatus", "")),
                certification=str(entry.get("certification", "")),
                purpose=str(entry.get("purpose", "")),
                spec_versions=tuple(str(v) for v in _as_list(entry.get("specVersion"))),
                sub_ids=tuple(
                    int(s) for s in _as_list(entry.get("deviceSubId")) if str(s).isdigit()
                ),
                bio_type=digital.bio_type if digital else "",
                device_sub_type=digital.device_sub_type if digital else "",
                digital_id=digital,
                device_code=str(entry.get("deviceCode") or ""),
            )
        )
    return devices


def discovery_request(bio_type: str, version: str) -> dict[str, str]:
    body = {"type": bio_type}
    if version != "auto":
        body["specVersion"] = version
    return body


def info_request(bio_type: str, version: str) -> dict[str, str] | None:
    """MOSIPDINFO body: none under 0.9.5 ("NA"), ``{type, specVersion}`` under 1.0."""
    return {"type": bio_type, "specVersion": version} if version == "1.0" else None


def target(device: DiscoveredDevice, version: str) -> dict[str, str]:
    """How a capture or stream request names its device under ``version``."""
    return {"serialNo": device.serial} if version == "1.0" else {"deviceId": device.device_id}


def rcapture_request(
    device: DiscoveredDevice,
    version: str,
    *,
    env: str,
    bio_type: str,
    sub_id: int,
    sub_types: list[str],
    exceptions: list[str],
    requested_score: int,
    timeout_ms: int,
    capture_time: str,
    transaction_id: str,
    previous_hash: str = EMPTY_HASH,
) -> dict[str, Any]:
    bio: dict[str, Any] = {
        "type": bio_type,
        "count": str(max(len(sub_types), 1)),
        "bioSubType": sub_types,
        "exception": exceptions,
        "requestedScore": str(requested_score),
        "deviceSubId": str(sub_id),
        "previousHash": previous_hash,
        **target(device, version),
    }
    return {
        "env": env,
        "purpose": "Registration",
        "specVersion": version,
        "timeout": str(timeout_ms),
        "captureTime": capture_time,
        "transactionId": transaction_id,
        "bio": [bio],
        "customOpts": None,
    }


def stream_request(
    device: DiscoveredDevice, version: str, *, sub_id: int, timeout_ms: int
) -> dict[str, str]:
    body = {"deviceSubId": str(sub_id), "timeout": str(timeout_ms), **target(device, version)}
    if version == "1.0":
        body |= {"type": device.bio_type or "Biometric Device", "specVersion": version}
    return body
