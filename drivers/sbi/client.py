"""One SBI device: discovery, signed device info, verified registration capture, stream.

Trust rules applied to every signed answer (device info, each captured
biometric and the digital id inside it):

- the JWS verifies with the x5c leaf certificate (RS256 / ES256), and the leaf
  chains to a configured trust anchor now (:mod:`drivers.sbi.jws`);
- a capture's signed ``timestamp`` is within ``max_clock_skew_s`` (5 min) of
  this host's clock, as the MOSIP registration client requires (the digital
  id's ``dateTime`` may date from its issuance, so a skew there only warns);
- a capture answers this request (``transactionId``, ``bioType``, requested
  sub-types) and its ``hash`` chain is intact.

The device key may change at any time (SBI key rotation): a new certificate is
accepted when it chains to a trust anchor, and the change is logged.
Discovery answers are unsigned and only used to find the port and device id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.errors import DeviceError, DeviceNotApproved
from drivers.sbi import http, protocol
from drivers.sbi.config import SbiConnectionConfig
from drivers.sbi.errors import (
    SbiProtocolError,
    SbiTimestampSkew,
    error_fields,
    error_for_code,
    is_success,
    raise_for_error,
)
from drivers.sbi.jws import TrustStore, VerifiedJws, b64url_decode, verify_compact
from drivers.sbi.protocol import DigitalId, DiscoveredDevice

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso_time(when: dt.datetime) -> str:
    """SBI datetime: ISO 8601 ``yyyy-mm-ddTHH:MM:ssZ``, UTC, no fraction.

    The MDS/SBI 0.9.5 revision of 8 April 2021 fixed this form for every
    datetime value of the specification; SBI 1.0 keeps it.
    """
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def discover(
    ports: range, bio_type: str, *, version: str, concurrency: int, timeout_s: float
) -> list[DiscoveredDevice]:
    """Probe ``ports`` with MOSIPDISC, at most ``concurrency`` at once; return what answers."""
    gate = asyncio.Semaphore(concurrency)
    method, path = protocol.DISCOVER
    body = protocol.discovery_request(bio_type, version)

    async def probe(port: int) -> list[DiscoveredDevice]:
        async with gate:
            try:
                response = await http.request(port, method, path, body, timeout_s=timeout_s)
                if response.status != 200:
                    return []
                return protocol.parse_discovery(port, response.json())
            except DeviceError as exc:
                logger.debug("port %d: no SBI service (%s)", port, exc.detail)
                return []

    found = await asyncio.gather(*(probe(port) for port in ports))
    return [device for devices in found for device in devices]


@dataclass(frozen=True)
class DeviceIdentity:
    """What MOSIPDINFO told us, after verification."""

    device: DiscoveredDevice
    version: str
    digital_id: DigitalId
    firmware: str
    certificate_sha256: str


@dataclass(frozen=True)
class Biometric:
    """One verified biometric of an RCAPTURE answer."""

    bio_type: str
    bio_sub_type: str
    iso: bytes
    quality: float | None
    timestamp: dt.datetime


class SbiClient:
    """Talks to one device of one SBI service on 127.0.0.1."""

    def __init__(
        self, config: SbiConnectionConfig, bio_type: str, *, clock: Clock = utc_now
    ) -> None:
        self._config = config
        self._bio_type = bio_type
        self._clock = clock
        self._trust: TrustStore | None = None
        self._identity: DeviceIdentity | None = None
        self._signer: str | None = None  # SHA-256 of the device certificate last seen

    @property
    def identity(self) -> DeviceIdentity:
        if self._identity is None:
            raise DeviceError("SBI device is not connected")
        return self._identity

    async def connect(self) -> DeviceIdentity:
        """Find the device, verify its signed info, and remember who it is."""
        if self._trust is None:
            self._trust = await asyncio.to_thread(
                TrustStore.from_pem_files, self._config.trust_anchors
            )
        c = self._config
        ports = range(c.port, c.port + 1) if c.port else range(c.port_first, c.port_last + 1)
        devices = await discover(
            ports,
            self._bio_type,
            version=c.spec_version,
            concurrency=c.discovery_concurrency,
            timeout_s=c.probe_timeout_s,
        )
        device = self._choose(devices)
        version = protocol.pick_version(list(device.spec_versions), c.spec_version)
        method, path = protocol.INFO
        body = protocol.info_request(self._bio_type, version)
        response = await http.request(
            device.port, method, path, body, timeout_s=c.request_timeout_s
        )
        self._identity = await asyncio.to_thread(
            self._verify_info, device, version, response.json()
        )
        logger.info(
            "SBI %s device on port %d: SBI %s, %s",
            self._bio_type,
            device.port,
            version,
            device.certification,
        )
        return self._identity

    def _choose(self, devices: list[DiscoveredDevice]) -> DiscoveredDevice:
        wanted = [
            d
            for d in devices
            if d.bio_type in ("", self._bio_type)
            and (
                not self._config.serial
                or self._config.serial in (d.serial, d.device_id, d.device_code)
            )
        ]
        if not wanted:
            raise error_for_code("106", f"no SBI {self._bio_type} device found")
        ready = [d for d in wanted if d.ready]
        if not ready:
            code = {"Busy": "111", "Not Registered": "100"}.get(wanted[0].status, "110")
            raise error_for_code(code, f"device status {wanted[0].status!r}")
        return ready[0]

    def _trusted(self, token: str) -> VerifiedJws:
        assert self._trust is not None
        verified = verify_compact(token, self._trust, self._clock())
        if self._signer is not None and verified.certificate_sha256 != self._signer:
            logger.info("SBI device certificate changed (key rotation); new one is trusted")
        self._signer = verified.certificate_sha256
        return verified

    def _check_time(self, text: object, what: str) -> dt.datetime:
        if not isinstance(text, str) or not text:
            raise SbiTimestampSkew(f"{what} has no timestamp")
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise SbiTimestampSkew(f"{what} timestamp is not ISO 8601") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        skew = abs((when - self._clock()).total_seconds())
        if skew > self._config.max_clock_skew_s:
            raise SbiTimestampSkew(f"{what} timestamp is {skew:.0f} s away from this host's clock")
        return when

    def _warn_if_clock_differs(self, date_time: str) -> None:
        """The digital id's dateTime may date from its issuance; only a hint at open."""
        try:
            self._check_time(date_time, "digital id")
        except SbiTimestampSkew as exc:
            logger.warning("SBI device clock looks wrong (%s); captures will be refused", exc)

    def _digital_id(self, token: object, device: DiscoveredDevice) -> DigitalId:
        if not isinstance(token, str) or token.count(".") != 2:
            raise DeviceNotApproved("digital id is not signed (device not registered)")
        digital = DigitalId.parse(self._trusted_quiet(token).payload_json())
        if device.serial and digital.serial != device.serial:
            raise DeviceNotApproved("digital id belongs to another device")
        return digital

    def _trusted_quiet(self, token: str) -> VerifiedJws:
        """Verify a nested token (digital id) without tracking it as the device signer."""
        assert self._trust is not None
        return verify_compact(token, self._trust, self._clock())

    def _verify_info(self, device: DiscoveredDevice, version: str, body: object) -> DeviceIdentity:
        if not isinstance(body, list) or not body:
            raise SbiProtocolError("MOSIPDINFO answer is not a non-empty array")
        for entry in body:
            if not isinstance(entry, dict):
                continue
            token = entry.get("deviceInfo")
            error = entry.get("error") or {}
            if not isinstance(token, str) or token.count(".") != 2:
                if not is_success(error_fields(error)[0]):
                    continue
                raise DeviceNotApproved("device info is not signed (device not registered)")
            verified = self._trusted(token)
            info = verified.payload_json()
            if not isinstance(info, dict):
                raise SbiProtocolError("device info payload is not an object")
            if str(info.get("deviceId") or info.get("serialNo")) not in (
                device.device_id,
                device.serial,
            ):
                continue
            raise_for_error(error)
            digital = self._digital_id(info.get("digitalId"), device)
            if digital.bio_type != self._bio_type:
                raise SbiProtocolError(f"device is {digital.bio_type}, not {self._bio_type}")
            self._warn_if_clock_differs(digital.date_time)
            if not device.serial:  # the signed digital id is the authority from now on
                device = dataclasses.replace(device, serial=digital.serial)
            return DeviceIdentity(
                device, version, digital, str(info.get("firmware", "")), verified.certificate_sha256
            )
        raise error_for_code("106", "device info does not list the discovered device")

    # --------------------------------------------------------------------- capture

    async def rcapture(
        self,
        *,
        sub_id: int,
        sub_types: list[str],
        exceptions: list[str],
        requested_score: int,
        timeout_s: float,
        chain: protocol.CaptureChain | None = None,
    ) -> list[Biometric]:
        """Run one registration capture and return its verified biometrics.

        With ``chain`` (one per enrolment) the request's ``previousHash`` is the
        last hash of the enrolment's earlier captures, the answer must continue
        that chain, and the chain advances only when every biometric verified.
        """
        ident = self.identity
        previous = chain.last_hash if chain is not None else protocol.EMPTY_HASH
        transaction_id = protocol.new_transaction_id()
        body = protocol.rcapture_request(
            ident.device,
            ident.version,
            env=self._config.env,
            bio_type=self._bio_type,
            sub_id=sub_id,
            sub_types=sub_types,
            exceptions=exceptions,
            requested_score=requested_score,
            timeout_ms=int(timeout_s * 1000),
            capture_time=iso_time(self._clock()),
            transaction_id=transaction_id,
            previous_hash=previous,
        )
        method, path = protocol.RCAPTURE
        # The device answers at its timeout with its best frame: allow for transfer time.
        response = await http.request(
            ident.device.port,
            method,
            path,
            body,
            timeout_s=timeout_s + self._config.request_timeout_s,
        )
        biometrics, last = await asyncio.to_thread(
            self._verify_capture, response.json(), transaction_id, sub_types, previous
        )
        if chain is not None:
            chain.advance(previous, last)
        return biometrics

    def _verify_capture(
        self, body: object, transaction_id: str, sub_types: list[str], previous: str
    ) -> tuple[list[Biometric], str]:
        if isinstance(body, dict):
            raise_for_error(body.get("error"))
        entries = body.get("biometrics") if isinstance(body, dict) else None
        if not isinstance(entries, list) or not entries:
            raise SbiProtocolError("RCAPTURE answer holds no biometrics")
        out = []
        for entry in entries:
            out.append(self._verify_biometric(entry, transaction_id, sub_types, previous))
            previous = str(entry["hash"]).upper()
        return out, previous

    def _verify_biometric(
        self, entry: Any, transaction_id: str, sub_types: list[str], previous: str
    ) -> Biometric:
        if not isinstance(entry, dict):
            raise SbiProtocolError("biometric entry is not an object")
        raise_for_error(entry.get("error"))
        token = entry.get("data")
        if not isinstance(token, str):
            raise SbiProtocolError("biometric data block is missing")
        data = self._trusted(token).payload_json()
        if not isinstance(data, dict):
            raise SbiProtocolError("biometric data payload is not an object")
        when = self._check_time(data.get("timestamp"), "capture")
        if data.get("transactionId") != transaction_id:
            raise SbiProtocolError("capture answers another transaction")
        if data.get("bioType") != self._bio_type:
            raise SbiProtocolError(f"capture is {data.get('bioType')}, not {self._bio_type}")
        sub_type = str(data.get("bioSubType") or "")
        if sub_types and sub_type not in sub_types and sub_type != "UNKNOWN":
            raise SbiProtocolError(f"capture returned {sub_type}, which was not requested")
        self._digital_id(data.get("digitalId"), self.identity.device)
        iso = b64url_decode(str(data.get("bioValue") or ""))
        if not iso:
            raise SbiProtocolError("biometric value is empty")
        if str(entry.get("hash", "")).upper() != protocol.chain_hash(previous, iso):
            raise SbiProtocolError("capture hash chain is broken")
        quality = data.get("qualityScore")
        try:
            score = float(quality) if quality not in (None, "") else None
        except (TypeError, ValueError):
            score = None
        return Biometric(self._bio_type, sub_type, iso, score, when)

    # ---------------------------------------------------------------------- stream

    async def open_stream(self, *, sub_id: int, timeout_s: float) -> http.HttpStream:
        """Start the M-JPEG preview; errors the service answers in JSON are raised."""
        ident = self.identity
        body = protocol.stream_request(
            ident.device, ident.version, sub_id=sub_id, timeout_ms=int(timeout_s * 1000)
        )
        method, path = protocol.STREAM
        stream = await http.open_stream(
            ident.device.port, method, path, body, timeout_s=self._config.request_timeout_s
        )
        if stream.headers.get("content-type", "").lower().startswith("multipart/"):
            return stream
        try:
            rest = await asyncio.wait_for(http.read_rest(stream), self._config.request_timeout_s)
        finally:
            await stream.close()
        raise stream_error(rest)


def stream_error(body: bytes) -> DeviceError:
    """The error a non-stream answer to STREAM (or a stream's trailer) carries."""
    try:
        response = http.HttpResponse(200, {}, body).json()
        code, info = error_fields(response.get("error") if isinstance(response, dict) else None)
    except DeviceError:
        return SbiProtocolError("STREAM answered neither M-JPEG nor an SBI error")
    if is_success(code):
        return SbiProtocolError("STREAM ended without frames")
    return error_for_code(str(code).strip(), info)
