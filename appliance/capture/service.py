"""The capture service (see the package docstring): one object, one way through."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from appliance.capture.captures import Capture, EnrolmentCaptures
from appliance.capture.device_test import DeviceTestResult, test_devices
from appliance.capture.devices import DeviceAccess
from appliance.capture.documents import DocumentCapture, DocumentResult
from appliance.capture.errors import CaptureError
from appliance.capture.face import FaceCapture, FaceResult
from appliance.capture.fingers import CapturedSlap, FingerprintCapture
from appliance.capture.sealing import Delivery, PacketSealer, SealRequest
from appliance.finger.records import MissingFinger
from drivers.interfaces import CaptureKind, FingerPosition, ImageU8, ReaderEventCallback

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sealed:
    packet_id: str
    size: int
    counts: dict[str, int]


class CaptureService:
    def __init__(
        self,
        devices: DeviceAccess,
        face: FaceCapture,
        fingers: FingerprintCapture,
        documents: DocumentCapture,
        sealer: PacketSealer | None,
    ) -> None:
        self.devices = devices
        self.face = face
        self.fingers = fingers
        self.documents = documents
        self.sealer = sealer
        self._current: EnrolmentCaptures | None = None

    # ------------------------------------------------------------ one enrolment

    @property
    def provisioned(self) -> bool:
        return self.sealer is not None

    def begin(self) -> EnrolmentCaptures:
        """A new, empty enrolment (whatever the previous one held is wiped)."""
        self.end()
        self._current = EnrolmentCaptures()
        return self._current

    @property
    def current(self) -> EnrolmentCaptures:
        if self._current is None:
            raise CaptureError(
                "workflow.captures_expired", "the captures are gone: cancel and start again"
            )
        return self._current

    @property
    def active(self) -> bool:
        return self._current is not None

    def end(self) -> None:
        """Wipe the enrolment's captures (cancelled, sealed or abandoned)."""
        if self._current is not None:
            self._current.wipe()
            self._current = None

    def capture(self, capture_id: str) -> Capture | None:
        return self._current.get(capture_id) if self._current is not None else None

    def drop(self, capture_id: str | None) -> None:
        if self._current is not None:
            self._current.drop(capture_id)

    # ----------------------------------------------------------------- capture

    async def take_face(self, image: ImageU8, *, auto: bool) -> FaceResult:
        return await self.face.take(self.current, image, auto=auto)

    async def capture_slap(
        self,
        kind: CaptureKind,
        missing: frozenset[FingerPosition],
        on_event: ReaderEventCallback | None = None,
    ) -> CapturedSlap:
        return await self.fingers.capture_slap(kind, missing, on_event)

    async def add_finger_records(
        self, slaps: list[CapturedSlap], missing: list[MissingFinger]
    ) -> None:
        await self.fingers.add_records(self.current, slaps, missing)

    async def take_document(self, kind: str, number: int, timeout_s: float) -> DocumentResult:
        return await self.documents.take(self.current, kind, number, timeout_s)

    def add_record(self, name: str, data: bytes) -> Capture:
        """A non-image item of the enrolment (e.g. the consent record), JSON."""
        self.current.drop_where(names=frozenset({name}))
        return self.current.add("record", "application/json", name, data)

    # ------------------------------------------------------------------- seal

    async def seal(self, request: SealRequest) -> Sealed:
        """Seal the enrolment into the outbox; the captures are wiped once it is in."""
        if self.sealer is None:
            raise CaptureError("not_provisioned", "this kiosk is not provisioned")
        captures = self.current
        counts = captures.counts()
        entry = await asyncio.to_thread(self.sealer.seal, captures, request)
        self.end()
        return Sealed(entry.packet_id, entry.size, counts)

    def packet_known(self, packet_id: str) -> bool:
        return self.sealer is not None and self.sealer.knows(packet_id)

    def delivery(self, packet_id: str) -> Delivery:
        """Stored in the outbox, or received by central (with its receipt)."""
        return self.sealer.delivery(packet_id) if self.sealer is not None else Delivery("unknown")

    # ---------------------------------------------------------------- warm-up

    async def warm_up(self) -> None:
        """Load every engine and run it once, so the first enrolment is not the slow one."""
        await asyncio.to_thread(self.face.warm_up)
        await asyncio.to_thread(self.fingers.warm_up)

    # ------------------------------------------------------------- technicians

    async def test_devices(self) -> list[DeviceTestResult]:
        """Exercise every device (technicians); nothing is captured or sealed."""
        return await test_devices(self.devices)
