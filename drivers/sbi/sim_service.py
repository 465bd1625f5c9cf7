"""What the simulated SBI device service answers, independent of HTTP.

Two devices, as a registration kit has them: a finger slap scanner (device
sub-ids 1 left, 2 right, 3 thumbs) and a face camera. Answers follow SBI 0.9.5
or 1.0 (``spec_versions``), are signed with the device key (x5c chain from
:mod:`drivers.sbi.sim_pki`), carry synthetic prints from
:mod:`drivers.sim.fingerprint_synth` and portraits from
:mod:`drivers.sim.portrait`, in ISO 19794-4 / 19794-5 records.

:class:`SimulatorFaults` injects what a kiosk must refuse or survive: a
broken signature, an expired device certificate, a skewed clock, slow
answers, a busy device, a replayed capture, a broken hash chain, and key
rotation in the middle of a session (:meth:`DeviceService.rotate_device_key`).
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from drivers.interfaces import FingerPosition, ImageU8
from drivers.sbi import protocol
from drivers.sbi.errors import SBI_ERROR_TEXT
from drivers.sbi.iso import write_face_record, write_finger_record
from drivers.sbi.jws import b64url_decode, b64url_encode, sign_compact
from drivers.sbi.sim_pki import DeviceCredentials, SimulatedPki

logger = logging.getLogger(__name__)

_HAND = {
    protocol.SUB_LEFT: [7, 8, 9, 10],  # index to little, the order SBI returns them in
    protocol.SUB_RIGHT: [2, 3, 4, 5],
    protocol.SUB_THUMBS: [6, 1],
}


@dataclass
class SimulatorFaults:
    """Faults the service injects; tests flip them while it runs."""

    bad_signature: bool = False
    clock_skew_s: float = 0.0
    delay_s: float = 0.0  # before answering MOSIPDINFO, RCAPTURE and STREAM
    busy: bool = False
    stream_content_length: bool = True  # False: parts end at the next boundary only
    stream_fps: float = 10.0
    replay: bool = False  # answer RCAPTURE with the previous, genuinely signed answer
    break_hash_chain: bool = False  # a wrong "hash" (e.g. a biometric swapped in)


@dataclass
class SimDevice:
    device_id: str
    serial: str
    bio_type: str
    sub_type: str
    model: str
    sub_ids: tuple[int, ...]
    credentials: DeviceCredentials
    capturing: threading.Lock = field(default_factory=threading.Lock)


def _error(code: str) -> dict[str, str]:
    return {
        "errorCode": code,
        "errorInfo": "Success" if code == "0" else SBI_ERROR_TEXT.get(code, ""),
    }


class DeviceService:
    """The answers of one SBI service (two devices), thread-safe."""

    def __init__(
        self,
        pki: SimulatedPki,
        port: int,
        *,
        spec_versions: tuple[str, ...] = ("0.9.5",),
        subject_seed: int = 1,
        faults: SimulatorFaults | None = None,
    ) -> None:
        self.pki = pki
        self.port = port
        self.spec_versions = spec_versions
        self.subject_seed = subject_seed
        self.faults = faults or SimulatorFaults()
        self._impressions: collections.Counter[int] = collections.Counter()
        self._lock = threading.Lock()
        self._last_capture: dict[str, Any] | None = None
        #: (method, JSON body) of the latest requests, for tests that check the wire.
        self.received: collections.deque[tuple[str, dict[str, Any]]] = collections.deque(maxlen=64)
        self.devices = [
            SimDevice(
                "1",
                "SIMSLAP0000000001",
                "Finger",
                "Slap",
                "SIM-SLAP-500",
                (1, 2, 3),
                pki.issue_device("SIMSLAP0000000001"),
            ),
            SimDevice(
                "2",
                "SIMFACE0000000002",
                "Face",
                "Full face",
                "SIM-FACE-1080",
                (0,),
                pki.issue_device("SIMFACE0000000002"),
            ),
        ]

    @property
    def version(self) -> str:
        return self.spec_versions[0]

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.faults.clock_skew_s)

    def timestamp(self) -> str:
        now = self.now()
        return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"

    # ------------------------------------------------------------------- keys

    def rotate_device_key(self, *, foreign_root: bool = False, expired: bool = False) -> None:
        """Give every device a new key; ``foreign_root`` certifies it under another root."""
        issuer = (
            SimulatedPki(self.pki.key_type, name="Unapproved root") if foreign_root else self.pki
        )
        with self._lock:
            for device in self.devices:
                device.credentials = issuer.issue_device(device.serial, expired=expired)
        logger.info("SBI simulator: device keys rotated")

    def _sign(self, device: SimDevice, payload: dict[str, Any]) -> str:
        data = json.dumps(payload, separators=(",", ":")).encode()
        with self._lock:
            credentials = device.credentials
        token = sign_compact(data, credentials.key, credentials.chain)
        if self.faults.bad_signature:
            head, body, signature = token.split(".")
            raw = bytearray(b64url_decode(signature))
            raw[0] ^= 0x01
            token = f"{head}.{body}.{b64url_encode(bytes(raw))}"
        return token

    # ---------------------------------------------------------- device identity

    def _digital_id(self, device: SimDevice) -> dict[str, str]:
        return {
            "serialNo": device.serial,
            "make": "CLAIM-SIM",
            "model": device.model,
            "type": device.bio_type,
            "deviceSubType": device.sub_type,
            "deviceProvider": "CLAIM kiosk SBI simulator",
            "deviceProviderId": "CLAIM.SIM.SBI",
            "dateTime": self.timestamp(),
        }

    def _status(self, device: SimDevice) -> str:
        return "Busy" if self.faults.busy or device.capturing.locked() else "Ready"

    def _identity_fields(self, device: SimDevice) -> dict[str, Any]:
        certification = "SBI 1.0" if self.version == "1.0" else "L0"
        fields: dict[str, Any] = {
            "deviceStatus": self._status(device),
            "certification": certification,
            "serviceVersion": "sim-1.0.0",
            "deviceSubId": [str(s) for s in device.sub_ids],
            "callbackId": f"http://127.0.0.1:{self.port}/",
            "purpose": "Registration",
            "specVersion": list(self.spec_versions),
        }
        if self.version == "1.0":
            fields["serialNo"] = device.serial
        else:
            fields |= {"deviceId": device.device_id, "deviceCode": device.serial}
        return fields

    def _matching(self, body: dict[str, Any]) -> list[SimDevice]:
        wanted = str(body.get("type") or "Biometric Device")
        return [d for d in self.devices if wanted in ("Biometric Device", d.bio_type)]

    def discover(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for device in self._matching(body):
            unsigned = b64url_encode(json.dumps(self._digital_id(device)).encode())
            out.append(
                {**self._identity_fields(device), "digitalId": unsigned, "error": _error("0")}
            )
        return out

    def info(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for device in self._matching(body):
            payload = {
                **self._identity_fields(device),
                "firmware": "SIM.FW.1.0",
                "env": "Production",
                "digitalId": self._sign(device, self._digital_id(device)),
            }
            out.append({"deviceInfo": self._sign(device, payload), "error": _error("0")})
        return out

    def find(self, bio: dict[str, Any]) -> SimDevice | None:
        for device in self.devices:
            if (
                str(bio.get("deviceId", "")) == device.device_id
                or bio.get("serialNo") == device.serial
            ):
                return device
        return None

    # ------------------------------------------------------------------ capture

    def rcapture(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.faults.replay and self._last_capture is not None:
            return self._last_capture
        answer = self._rcapture(body)
        self._last_capture = answer
        return answer

    def _rcapture(self, body: dict[str, Any]) -> dict[str, Any]:
        bios = body.get("bio")
        bio = bios[0] if isinstance(bios, list) and bios and isinstance(bios[0], dict) else {}
        transaction_id = str(body.get("transactionId", ""))
        device = self.find(bio)
        if device is None:
            return self._failed("106", body)
        if not protocol.valid_transaction_id(transaction_id):
            return self._failed("112", body)
        if self.faults.busy or not device.capturing.acquire(blocking=False):
            return self._failed("111", body)
        try:
            samples = (
                [("", self._face_record(), 90.0)]
                if device.bio_type == "Face"
                else self._finger_records(bio)
            )
            if samples is None:
                return self._failed("109", body)
            previous = str(bio.get("previousHash") or protocol.EMPTY_HASH)
            out = []
            for sub_type, record, quality in samples:
                digest = protocol.chain_hash(previous, record)
                if self.faults.break_hash_chain:
                    digest = protocol.chain_hash(previous, record + b"\0")
                data = {
                    "digitalId": self._sign(device, self._digital_id(device)),
                    "deviceCode": device.serial,
                    "deviceServiceVersion": "sim-1.0.0",
                    "bioType": device.bio_type,
                    "bioSubType": sub_type,
                    "purpose": "Registration",
                    "env": str(body.get("env", "Production")),
                    "bioValue": b64url_encode(record),
                    "transactionId": transaction_id,
                    "timestamp": self.timestamp(),
                    "requestedScore": str(bio.get("requestedScore", "0")),
                    "qualityScore": f"{quality:.0f}",
                }
                out.append(
                    {
                        "specVersion": self.version,
                        "data": self._sign(device, data),
                        "hash": digest,
                        "error": _error("0"),
                    }
                )
                previous = digest
            return {"biometrics": out}
        finally:
            device.capturing.release()

    def _failed(self, code: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "biometrics": [
                {"specVersion": self.version, "data": "", "hash": "", "error": _error(code)}
            ]
        }

    def _finger_records(self, bio: dict[str, Any]) -> list[tuple[str, bytes, float]] | None:
        from drivers.sim.fingerprint_synth import synthesize_finger

        hand = _HAND.get(int(str(bio.get("deviceSubId", "0")) or 0))
        if hand is None:
            return None
        names = {protocol.FINGER_NAMES[FingerPosition(p)]: p for p in hand}
        excluded = {names[n] for n in bio.get("exception") or [] if n in names}
        requested = [n for n in bio.get("bioSubType") or [] if n != "UNKNOWN"]
        if any(n not in names for n in requested):
            return None
        positions = (
            [names[n] for n in requested] if requested else [p for p in hand if p not in excluded]
        )
        samples = []
        for fgp in positions:
            with self._lock:
                impression = self._impressions[fgp]
                self._impressions[fgp] += 1
            pixels = synthesize_finger(self.subject_seed, FingerPosition(fgp), impression)
            quality = 70 + (self.subject_seed * 7 + fgp * 5) % 25
            record = write_finger_record([(fgp, pixels, quality)], self.now())
            samples.append((protocol.FINGER_NAMES[FingerPosition(fgp)], record, float(quality)))
        return samples

    def _face_record(self) -> bytes:
        from drivers.sim.portrait import PortraitScene, render_portrait

        image = render_portrait(PortraitScene(), 640, 480, seed=self.subject_seed)
        return write_face_record(image, self.now(), lossless=True)

    # ------------------------------------------------------------------- stream

    def stream_check(self, body: dict[str, Any]) -> tuple[SimDevice | None, dict[str, Any] | None]:
        """The device to stream, or the SBI error answer."""
        device = self.find(body)
        if device is None:
            return None, {"error": _error("202")}
        if self.faults.busy or device.capturing.locked():
            return None, {"error": _error("111")}
        return device, None

    def stream_frames(self, device: SimDevice) -> Iterator[bytes]:
        """JPEG frames of the device's live view, forever."""
        sequence = 0
        base = self._finger_preview() if device.bio_type == "Finger" else None
        while True:
            if base is None:
                from drivers.sim.portrait import PortraitScene, render_portrait

                frame = render_portrait(
                    PortraitScene(), 640, 480, seed=self.subject_seed + sequence
                )
            else:
                frame = np.roll(base, sequence % 8, axis=1)
            ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
            if ok:
                yield encoded.tobytes()
            sequence += 1

    def _finger_preview(self) -> ImageU8:
        from drivers.sim.fingerprint_synth import synthesize_finger

        finger = synthesize_finger(self.subject_seed, FingerPosition.RIGHT_INDEX, 0)
        return np.asarray(cv2.resize(finger, (200, 250)), dtype=np.uint8)


def ca_thumbprint(pki: SimulatedPki) -> str:
    """SHA-256 of the root certificate, for the simulator's start-up line."""
    from cryptography.hazmat.primitives import serialization

    der = pki.root_certificate.public_bytes(serialization.Encoding.DER)
    return base64.b16encode(hashlib.sha256(der).digest()).decode()
