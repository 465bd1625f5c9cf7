"""The face step: live preview with guidance, auto-capture, manual capture, retake, accept.

The preview analyses frames with the capture service's guidance; the
auto-capture gate hands the best of a run of good frames to the capture
service's full check in a background task. A frame the full check rejects is
not kept: the preview goes on and the failed checks become prompts.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from appliance.capture.errors import CaptureError
from appliance.devices import DeviceRole
from appliance.workflow.context import WorkflowContext
from appliance.workflow.preview import LivePreview
from appliance.workflow.state import Step, TransitionError
from appliance.workflow.view import FaceView
from drivers.interfaces import Frame, ImageU8

logger = logging.getLogger(__name__)

FRESH_FRAME_S = 1.0
AUTO_TASK = "face-auto-capture"


@dataclass
class _FaceState:
    capture_id: str | None = None
    auto: bool = False
    compliant: bool | None = None
    failed: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


class FaceStep:
    def __init__(self, ctx: WorkflowContext) -> None:
        self._ctx = ctx
        devices = ctx.capture.devices
        self.preview = LivePreview(
            lambda: devices.camera(DeviceRole.FACE_CAMERA),
            ctx.capture.face.analyse,
            overlay="face",
            on_error=lambda exc: devices.failed(DeviceRole.FACE_CAMERA, exc),
        )
        self.preview.on_analysis = self._on_analysis
        self._gate = ctx.capture.face.auto_gate()
        self._state = _FaceState()

    def reset(self) -> None:
        self._state = _FaceState()
        self._gate.reset()

    @property
    def captured(self) -> bool:
        return self._state.capture_id is not None

    def view(self) -> FaceView:
        state = self._state
        return FaceView(
            status="captured" if state.capture_id else "live",
            capture_id=state.capture_id,
            auto=state.auto,
            prompts=list(self.preview.latest_analysis.get("prompts", [])),
            rejected=list(state.rejected),
            device_error=self.preview.error_key,
            compliant=state.compliant,
            failed=list(state.failed),
        )

    def _on_analysis(self, frame: Frame, analysis: dict[str, Any]) -> None:
        """Auto-capture: feed the gate; its pick goes to the full check in the background."""
        record = self._ctx.record
        if record is None or record.step is not Step.FACE or self.captured:
            self._gate.reset()
            return
        ok = bool(analysis.get("ok", not analysis.get("prompts")))
        best = self._gate.offer(frame.image, ok, float(analysis.get("score", 0.0)))
        if best is not None and not self._ctx.tasks.running(AUTO_TASK):
            self._ctx.tasks.start(AUTO_TASK, self._take(best, auto=True))

    async def capture_now(self) -> None:
        """The operator takes the photo now (the preview's latest frame, or a fresh one)."""
        self._ctx.require(Step.FACE)
        frame = self.preview.latest_frame
        try:
            if frame is None or time.monotonic() - frame.timestamp > FRESH_FRAME_S:
                frame = await self._ctx.capture.devices.read_frame(DeviceRole.FACE_CAMERA)
        except CaptureError as exc:
            raise TransitionError(exc.code, str(exc)) from None
        await self._take(frame.image, auto=False)

    async def _take(self, image: ImageU8, *, auto: bool) -> None:
        async with self._ctx.lock:
            self._ctx.require(Step.FACE)
            if self.captured:
                return
            try:
                result = await self._ctx.capture.take_face(image, auto=auto)
            except CaptureError as exc:
                raise TransitionError(exc.code, str(exc)) from None
            if result.capture is None:  # an auto-capture the full check refused
                self._state.rejected = result.prompts
                self._gate.reset()
                return
            self._state = _FaceState(
                result.capture.capture_id, auto, result.compliant, list(result.failed)
            )
            logger.info("face captured (%s)", "auto" if auto else "manual")

    async def retake(self) -> None:
        async with self._ctx.lock:
            self._ctx.require(Step.FACE)
            self._ctx.capture.drop(self._state.capture_id)
            self.reset()

    async def accept(self) -> None:
        async with self._ctx.lock:
            record = self._ctx.require(Step.FACE)
            if not self.captured:
                raise TransitionError("face.not_captured", "take the photo first")
            record.complete(Step.FACE)
            self._ctx.advance(record, Step.FINGERPRINTS)
