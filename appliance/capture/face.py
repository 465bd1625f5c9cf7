"""The face part of the capture service: live guidance, auto-capture, the full ICAO check.

With the face engine (:mod:`appliance.face`), a frame becomes the ISO/IEC
19794-5 token image with the ICAO figures in its manifest entry. An
auto-capture whose full check fails is not kept (the preview goes on, the
failed checks become prompts); the operator's manual capture is kept either
way, ``icao_compliant`` recording the verdict. Without the engine's models the
kiosk only starts under the demo profile (the composition root refuses
production), and there the frame is kept as a plain JPEG with coarse guidance.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import cv2

from appliance.capture.captures import Capture, EnrolmentCaptures
from appliance.capture.errors import CaptureError
from appliance.capture.face_placeholder import placeholder_analyse_frame
from appliance.face.capture import FaceCaptureService, NoFaceFound
from appliance.face.guidance import AutoCapture, GuidanceEngine
from appliance.metrics import ApplianceMetrics
from drivers.interfaces import ImageU8

logger = logging.getLogger(__name__)

Analyser = Any  # Callable[[ImageU8], dict[str, Any]]; kept loose for the preview's use


@dataclass(frozen=True)
class FaceResult:
    """The outcome of one full check: the kept capture (or none) and why."""

    capture: Capture | None
    compliant: bool
    failed: tuple[str, ...] = ()
    prompts: list[str] = field(default_factory=list)


class FaceCapture:
    def __init__(
        self,
        service: FaceCaptureService | None,
        metrics: ApplianceMetrics,
        *,
        auto_capture_frames: int,
    ) -> None:
        self._service = service
        self._metrics = metrics
        self._frames = auto_capture_frames
        self._guidance = GuidanceEngine(service.engine) if service is not None else None

    @property
    def checked(self) -> bool:
        """True when captures go through the full ICAO check (the engine is loaded)."""
        return self._service is not None

    def analyse(self, image: ImageU8) -> dict[str, Any]:
        """Per-frame guidance for the live preview (prompts, face box, ok, score)."""
        if self._guidance is None:
            return placeholder_analyse_frame(image)
        result: dict[str, Any] = self._guidance.analyse(image).as_json()
        return result

    def warm_up(self) -> None:
        """Every model loaded and run once, every check and the token encoder exercised."""
        if self._service is not None:
            self._service.warm_up()

    def auto_gate(self) -> AutoCapture:
        """A fresh auto-capture gate: the best of N consecutive good preview frames."""
        return AutoCapture(self._frames)

    async def take(self, captures: EnrolmentCaptures, image: ImageU8, *, auto: bool) -> FaceResult:
        """Check ``image`` and keep it as the enrolment's face (see the module docstring)."""
        if self._service is None:
            jpeg = await asyncio.to_thread(_jpeg, image)
            height, width = image.shape[:2]
            kept = captures.add(
                "face", "image/jpeg", "face.jpg", jpeg, width=width, height=height, auto=int(auto)
            )
            self._metrics.captures.labels("face").inc()
            return FaceResult(kept, compliant=False, failed=("not_checked",))
        try:
            item = await asyncio.to_thread(self._service.item_from_frame, image)
        except NoFaceFound:
            if auto:
                return FaceResult(None, compliant=False, failed=("face_count",))
            raise CaptureError("face.no_face", "no face in the picture") from None
        for check in item.report.failed:
            self._metrics.quality_rejects.labels(check).inc()
        failed = tuple(item.report.failed)
        if auto and not item.report.compliant:
            logger.info("auto-capture rejected by the full check: %s", ",".join(failed))
            return FaceResult(None, compliant=False, failed=failed, prompts=item.prompts)
        ext = "jp2" if item.media_type == "image/jp2" else "jpg"
        kept = captures.add(
            "face", item.media_type, f"face.{ext}", item.data, auto=int(auto), **item.metadata
        )
        self._metrics.captures.labels("face").inc()
        return FaceResult(kept, item.report.compliant, failed, item.prompts)


def _jpeg(image: ImageU8, quality: int = 92) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise CaptureError("face.encode_failed", "cannot encode the face image")
    return bytes(buffer)
