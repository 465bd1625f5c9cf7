"""Live camera preview: a frame pump, per-frame analysis and an overlay, for MJPEG.

One :class:`LivePreview` per camera role. While at least one viewer is
attached (an MJPEG stream, a guidance stream or an armed auto-capture) a
pump task reads frames from the camera, draws the guidance overlay from the
latest analysis and JPEG-encodes a preview-sized copy. It stops as soon as
the last viewer leaves (the next viewer starts it again within a frame): a
preview nobody watches would read, analyse and encode frames on the cores the
next step needs (the document camera's text detection after a QR scan, the
face engine while the first slap is judged). Analysis runs in its
own task on the newest frame, so a slow analyser lowers the analysis rate,
never the preview frame rate; it pauses while the document just photographed
is read (:meth:`LivePreview.analysis_paused`), which needs those cores. Viewers
wait on a condition for the next frame; nothing is queued, so a slow viewer skips
frames instead of adding latency.

The frames live in memory only and are dropped as soon as the next one comes,
and when the pump stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from appliance.capture.errors import CaptureError
from appliance.tasks import cancel_and_wait
from drivers.errors import DeviceError
from drivers.interfaces import Camera, Frame, ImageU8

logger = logging.getLogger(__name__)

Analyser = Callable[[ImageU8], dict[str, Any]]
OnAnalysis = Callable[[Frame, dict[str, Any]], None]

PREVIEW_WIDTH = 640
JPEG_QUALITY = 75
GOOD = (80, 200, 60)
ADJUST = (0, 170, 255)
GUIDE = (255, 255, 255)


@dataclass(frozen=True)
class PreviewFrame:
    """One encoded preview frame with the analysis it was drawn with."""

    jpeg: bytes
    sequence: int
    captured_at: float  # time.time() when the camera delivered the frame
    analysis: dict[str, Any]


@dataclass
class _Latest:
    frame: Frame | None = None
    analysis: dict[str, Any] = field(default_factory=dict)
    analysed_sequence: int = -1


class LivePreview:
    """Preview and analysis for one camera (see the module docstring)."""

    def __init__(
        self,
        camera: Callable[[], Camera],
        analyser: Analyser,
        *,
        overlay: str = "face",
        on_error: Callable[[DeviceError], None] | None = None,
    ) -> None:
        self._camera = camera
        self._analyser = analyser
        self._overlay = overlay
        self._on_error = on_error
        self._latest = _Latest()
        self._published: PreviewFrame | None = None
        self._changed = asyncio.Condition()
        self._analysed = asyncio.Condition()
        self._viewers = 0
        self._pauses = 0
        self._pump: asyncio.Task[None] | None = None
        self._analysis: asyncio.Task[None] | None = None
        self._closed = False
        self.error_key: str | None = None
        self.on_analysis: OnAnalysis | None = None
        self.frames_published = 0

    @property
    def running(self) -> bool:
        return self._pump is not None and not self._pump.done()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def latest_frame(self) -> Frame | None:
        return self._latest.frame

    @property
    def latest_analysis(self) -> dict[str, Any]:
        return self._latest.analysis

    @contextlib.asynccontextmanager
    async def viewer(self) -> AsyncIterator[None]:
        """Keep the pump running while the block runs."""
        self._viewers += 1
        self._ensure_running()
        try:
            yield
        finally:
            self._viewers -= 1

    @contextlib.asynccontextmanager
    async def analysis_paused(self) -> AsyncIterator[None]:
        """Analyse no new frame while the block runs; the preview itself goes on.

        For work that needs the cores the analysis takes and makes its result moot:
        reading the document just photographed. An analysis already running ends
        first (at most one frame's); the next one is of the newest frame.
        """
        self._pauses += 1
        try:
            yield
        finally:
            self._pauses -= 1
            async with self._analysed:
                self._analysed.notify_all()

    async def frames(self) -> AsyncIterator[PreviewFrame]:
        """Each new preview frame, as it comes; ends when the preview is closed."""
        async with self.viewer():
            last = -1
            while not self._closed:
                async with self._changed:
                    await self._changed.wait_for(functools.partial(self._new_frame, last))
                published = self._published
                if self._closed or published is None:
                    return
                last = published.sequence
                yield published

    async def analyses(self) -> AsyncIterator[dict[str, Any]]:
        """Each new analysis result; ends when the preview is closed."""
        async with self.viewer():
            last = -1
            while not self._closed:
                async with self._analysed:
                    await self._analysed.wait_for(functools.partial(self._new_analysis, last))
                if self.closed:
                    return
                last = self._latest.analysed_sequence
                yield {"sequence": last, **self._latest.analysis}

    def _new_frame(self, last: int) -> bool:
        return self._closed or (self._published is not None and self._published.sequence != last)

    def _new_analysis(self, last: int) -> bool:
        return self._closed or self._latest.analysed_sequence != last

    def _unanalysed(self, done: int) -> bool:
        frame = self._latest.frame
        return self._closed or (self._pauses == 0 and frame is not None and frame.sequence != done)

    async def close(self) -> None:
        """End every stream and stop the pump (the server is stopping)."""
        self._closed = True
        for condition in (self._changed, self._analysed):
            async with condition:
                condition.notify_all()
        await cancel_and_wait(self._analysis)
        await cancel_and_wait(self._pump)

    def _ensure_running(self) -> None:
        if self._closed or self.running:
            return
        self.error_key = None
        self._pump = asyncio.create_task(self._run_pump(), name=f"preview-{self._overlay}")
        self._analysis = asyncio.create_task(self._run_analysis(), name=f"analysis-{self._overlay}")

    async def _run_pump(self) -> None:
        try:
            while not self._closed:
                if self._viewers == 0:  # nobody sees or waits for these frames: stop
                    break
                try:
                    frame = await self._camera().read_frame()
                except DeviceError as exc:
                    self.error_key = exc.message_key
                    if self._on_error is not None:
                        self._on_error(exc)
                    await asyncio.sleep(0.5)
                    continue
                except CaptureError as exc:  # the camera is not usable: show why, retry
                    self.error_key = exc.code
                    await asyncio.sleep(0.5)
                    continue
                except Exception:
                    logger.exception("preview frame failed")
                    self.error_key = "device.error"
                    await asyncio.sleep(0.5)
                    continue
                self.error_key = None
                captured_at = time.time()
                self._latest.frame = frame
                async with self._analysed:
                    self._analysed.notify_all()  # wake the analyser for the new frame
                analysis = self._latest.analysis
                jpeg = await asyncio.to_thread(self._render, frame.image, analysis)
                async with self._changed:
                    self._published = PreviewFrame(jpeg, frame.sequence, captured_at, analysis)
                    self.frames_published += 1
                    self._changed.notify_all()
        finally:
            if self._analysis is not None and not self._analysis.done():
                self._analysis.cancel()
            # The last frame goes with the pump: the next viewer (often the next
            # applicant's) must not be shown this one's face or paper first.
            self._latest = _Latest()
            self._published = None

    async def _run_analysis(self) -> None:
        done = -1
        while not self._closed:
            async with self._analysed:
                await self._analysed.wait_for(functools.partial(self._unanalysed, done))
            frame = self._latest.frame
            if self._closed or frame is None:
                return
            done = frame.sequence
            try:
                analysis = await asyncio.to_thread(self._analyser, frame.image)
            except Exception:
                logger.exception("frame analysis failed")
                analysis = {"prompts": ["face.analysis_failed"]}
            self._latest.analysis = analysis
            self._latest.analysed_sequence = frame.sequence
            if self.on_analysis is not None:
                self.on_analysis(frame, analysis)
            async with self._analysed:
                self._analysed.notify_all()

    def _render(self, image: ImageU8, analysis: dict[str, Any]) -> bytes:
        width = image.shape[1]
        scale = PREVIEW_WIDTH / width if width > PREVIEW_WIDTH else 1.0
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        small = np.ascontiguousarray(small)
        ok = bool(analysis.get("ok", not analysis.get("prompts")))
        colour = GOOD if ok else ADJUST
        if self._overlay == "face":
            h, w = small.shape[:2]
            cv2.ellipse(
                small,
                (w // 2, int(h * 0.47)),
                (int(h * 0.2), int(h * 0.29)),
                0,
                0,
                360,
                GUIDE,
                2,
                cv2.LINE_AA,
            )
            box = analysis.get("box")
            if box:
                x, y, bw, bh = (int(v * scale) for v in box)
                cv2.rectangle(small, (x, y), (x + bw, y + bh), colour, 3, cv2.LINE_AA)
        elif self._overlay == "document":
            quad = analysis.get("quad")
            if quad:
                points = (np.asarray(quad, np.float32) * scale).astype(np.int32)
                cv2.polylines(small, [points], True, colour, 3, cv2.LINE_AA)
        encoded, buffer = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not encoded:
            raise RuntimeError("cannot encode the preview frame")
        return bytes(buffer)
