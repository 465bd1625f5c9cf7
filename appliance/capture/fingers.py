"""The fingerprint part of the capture service: one slap at a time, encoded at once.

A slap goes through the 4-4-2 flow's capture (best of the configured attempts,
segmentation and NFIQ 2 per finger, whose minutiae the same-hand check reuses;
the reader is free for the next slap while a slap is judged) and its verdict is
shown as soon as it is out; :meth:`FingerprintCapture.encode` then makes
its WSQ images in a worker thread while the applicant moves to the next slap,
so that finishing the step only assembles the ANSI/NIST and ISO records from
bytes already made (a slap not encoded yet is encoded there). Rejects are counted per
check (``nfiq2``, ``slap_segmentation``) and the reader's failures go through
:class:`DeviceAccess`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from appliance.capture.captures import EnrolmentCaptures
from appliance.capture.devices import DeviceAccess
from appliance.config.quality import FingerQualityThresholds
from appliance.devices import DeviceRole
from appliance.finger.flow import (
    EXCLUSIVE,
    ReaderTurn,
    SlapResult,
    TenPrintFlow,
    sequence_problems,
)
from appliance.finger.items import encode_slap, tenprint_items
from appliance.finger.quality import FingerScorer
from appliance.finger.records import FingerCapture, MissingFinger
from appliance.metrics import ApplianceMetrics
from drivers.interfaces import CaptureKind, FingerPosition, ReaderEventCallback

logger = logging.getLogger(__name__)

#: Names of the records built from all the slaps together (dropped when a slap changes).
RECORD_NAMES = frozenset({"tenprint.an2", "fingers.iso19794-4"})
FINGER_ITEM_TYPES = frozenset({"slap", "finger"})


@dataclass(frozen=True)
class CapturedSlap:
    """A judged slap and, once :meth:`FingerprintCapture.encode` ran, its WSQ images."""

    result: SlapResult
    encoded: tuple[FingerCapture, ...] = ()


class FingerprintCapture:
    def __init__(
        self,
        devices: DeviceAccess,
        limits: FingerQualityThresholds,
        metrics: ApplianceMetrics,
        scorer: FingerScorer,
    ) -> None:
        self._devices = devices
        self._limits = limits
        self._metrics = metrics
        self._scorer = scorer

    async def capture_slap(
        self,
        kind: CaptureKind,
        missing: frozenset[FingerPosition],
        on_event: ReaderEventCallback | None = None,
        enrolment_id: str = "",
        turn: ReaderTurn = EXCLUSIVE,
    ) -> CapturedSlap:
        """Capture and judge one slap on the reader (raises CaptureError).

        ``turn`` is told when the reader is free again (the slap is being judged).
        """
        reader = self._devices.reader()
        flow = TenPrintFlow(reader, self._limits, on_event, enrolment_id, self._scorer)
        with self._devices.using(DeviceRole.FINGERPRINT_READER):
            result = await flow.capture_slap(kind, missing, turn)
        self._metrics.captures.labels(kind.value).inc()
        if not result.accepted:
            if not result.segmentation.ok:
                self._metrics.quality_rejects.labels("slap_segmentation").inc()
            for _, _, assessment in result.fingers:
                if not assessment.accepted:
                    self._metrics.quality_rejects.labels("nfiq2").inc()
        return CapturedSlap(result)

    @staticmethod
    async def encode(slap: CapturedSlap) -> CapturedSlap:
        """The slap with its WSQ images, made in a worker thread (accepted slaps only)."""
        if slap.encoded or not slap.result.accepted:
            return slap
        return CapturedSlap(slap.result, tuple(await asyncio.to_thread(encode_slap, slap.result)))

    def warm_up(self) -> None:
        """NFIQ 2 (in its scorer), the minutiae extractor and the WSQ codec, loaded once."""
        from appliance.finger.flow import warm_up_matcher
        from appliance.finger.quality import assess_finger
        from appliance.finger.records import encode_wsq
        from drivers.sim.fingerprint_synth import synthesize_finger

        ridges = synthesize_finger(0, FingerPosition.RIGHT_INDEX)  # synthetic, no one's finger
        assess_finger(ridges, self._limits, self._scorer)
        encode_wsq(ridges)
        warm_up_matcher(ridges)

    @staticmethod
    async def sequence_problems(slaps: dict[CaptureKind, CapturedSlap]) -> list[str]:
        """Wrong hand or the same hand twice (message keys), across the captured slaps."""
        return await asyncio.to_thread(
            sequence_problems, {kind: slap.result for kind, slap in slaps.items()}
        )

    @staticmethod
    async def add_records(
        captures: EnrolmentCaptures,
        slaps: list[CapturedSlap],
        missing: list[MissingFinger],
    ) -> None:
        """Put the WSQ images and the ANSI/NIST and ISO records into the enrolment."""
        items = await asyncio.to_thread(_records, slaps, missing)
        captures.drop_where(item_types=FINGER_ITEM_TYPES, names=RECORD_NAMES)
        for name, item_type, media_type, data, quality in items:
            captures.add(item_type, media_type, name, data, **quality)


def _records(slaps: list[CapturedSlap], missing: list[MissingFinger]) -> list[Any]:
    """The ten-print records, encoding any slap the background encoding did not reach."""
    captures = [c for slap in slaps for c in (slap.encoded or encode_slap(slap.result))]
    return tenprint_items(captures, missing)
