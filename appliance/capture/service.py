"""The capture service (see the package docstring): one object, one way through.

``on_operation(event, fields)`` (the record of operations) hears every capture
attempt with its quality verdict (``capture.attempt``: item, auto, accepted,
the failed check names, the call's duration) and every seal
(``enrolment.sealed`` / ``enrolment.seal_failed``); never an image or a score.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.capture.captures import Capture, EnrolmentCaptures
from appliance.capture.chip import ChipCapture, ChipResult
from appliance.capture.device_test import DeviceTestResult, test_devices
from appliance.capture.devices import DeviceAccess
from appliance.capture.documents import DocumentCapture, DocumentPhoto
from appliance.capture.errors import CaptureError
from appliance.capture.face import FaceCapture, FaceResult
from appliance.capture.fingers import CapturedSlap, FingerprintCapture
from appliance.capture.sealing import Delivery, PacketSealer, SealRequest, rfc3339
from appliance.documents.mrz_reader import MrzResult
from appliance.finger.flow import EXCLUSIVE, ReaderTurn
from appliance.finger.records import MissingFinger
from drivers.emrtd.mrz_key import MrzKeyInput
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
        chip: ChipCapture | None = None,
        on_operation: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self._on_operation = on_operation
        self.devices = devices
        self.chip = chip
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
        started = time.perf_counter()
        try:
            result = await self.face.take(self.current, image, auto=auto)
        except CaptureError as exc:
            self._attempt("face", started, auto=auto, accepted=False, failed=[exc.code])
            raise
        failed = list(result.failed)
        self._attempt("face", started, auto=auto, accepted=result.compliant, failed=failed)
        return result

    async def capture_slap(
        self,
        kind: CaptureKind,
        missing: frozenset[FingerPosition],
        on_event: ReaderEventCallback | None = None,
        turn: ReaderTurn = EXCLUSIVE,
    ) -> CapturedSlap:
        started = time.perf_counter()
        captured = await self.fingers.capture_slap(
            kind, missing, on_event, enrolment_id=self.current.enrolment_id, turn=turn
        )
        result = captured.result
        failed = [] if result.segmentation.ok else ["slap_segmentation"]
        if any(not assessment.accepted for _, _, assessment in result.fingers):
            failed.append("nfiq2")
        self._attempt(kind.value, started, auto=True, accepted=result.accepted, failed=failed)
        return captured

    async def add_finger_records(
        self, slaps: list[CapturedSlap], missing: list[MissingFinger]
    ) -> None:
        await self.fingers.add_records(self.current, slaps, missing)

    async def take_document(self, kind: str, number: int, timeout_s: float) -> DocumentPhoto:
        """Photograph a document for this enrolment; :meth:`read_document` reads its MRZ."""
        return await self.documents.take(self.current, kind, number, timeout_s)

    async def read_document(self, photo: DocumentPhoto) -> MrzResult | None:
        """Read and check the MRZ of a document photo; the attempt is recorded then."""
        mrz = await self.documents.read_mrz(photo)
        failed = [] if photo.corrected else ["not_corrected"]
        if mrz is not None and mrz.verdict != "valid":
            failed.append(f"mrz_{mrz.verdict}")
        self._attempt("document", photo.started, auto=False, accepted=not failed, failed=failed)
        return mrz

    def _attempt(
        self, item: str, started: float, *, auto: bool, accepted: bool, failed: list[str]
    ) -> None:
        self._report(
            "capture.attempt",
            item=item,
            auto=auto,
            accepted=accepted,
            failed=failed,
            duration_ms=round((time.perf_counter() - started) * 1000),
        )

    def _report(self, event: str, **fields: Any) -> None:
        if self._on_operation is not None:
            self._on_operation(event, fields)  # the hook never raises

    async def read_chip(self, key: MrzKeyInput, printed_mrz: str | None) -> ChipResult:
        """Read the document chip on the reader and match its portrait with the live face."""
        if self.chip is None:
            raise CaptureError("chip.no_reader", "this kiosk has no document reader")
        faces = [c for c in self.current if c.item_type == "face"]
        live = bytes(faces[-1].data) if faces else None
        started = time.perf_counter()
        result = await self.chip.read(self.current, key, printed_mrz, live)
        failed = [] if result.verdict.passed else [f"chip.{result.verdict.reason.value}"]
        if result.match is not None and not result.match.match:
            failed.append("face_match")
        self._attempt("chip", started, auto=False, accepted=not failed, failed=failed)
        return result

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
        started = time.perf_counter()
        try:
            entry = await asyncio.to_thread(self.sealer.seal, captures, request)
        except Exception as exc:
            code = exc.code if isinstance(exc, CaptureError) else "seal.failed"
            self._report("enrolment.seal_failed", packet_id=request.packet_id, code=code)
            raise
        self._report(
            "enrolment.sealed",
            packet_id=entry.packet_id,
            case_reference=request.case_reference,
            operator=request.operator_id,
            started_at=rfc3339(request.started_at),
            duration_ms=round((time.perf_counter() - started) * 1000),
        )
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
        await asyncio.to_thread(self.documents.warm_up)
        with contextlib.suppress(CaptureError):  # no reader now: the readiness gate says so
            await self.devices.reader().warm_up()
        if self.chip is not None:
            await asyncio.to_thread(self.chip.warm_up)

    # ------------------------------------------------------------- technicians

    async def test_devices(self) -> list[DeviceTestResult]:
        """Exercise every device (technicians); nothing is captured or sealed."""
        return await test_devices(self.devices)
