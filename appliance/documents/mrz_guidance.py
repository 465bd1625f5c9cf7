"""Per-frame hints for the documents step: ``doc.no_mrz``, ``doc.move_closer``,
``doc.glare``, ``doc.hold_still``.

Cheap enough for a live preview: the text detector runs at a reduced size
(no recognition), then the MRZ band found is measured: character height in
pixels (too small to read: move closer), saturated pixels in the band
(glare), sharpness of the band and its motion since the previous frame (hold
still). An empty list means the frame is good enough to read.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from appliance.documents.mrz_locate import TextDetector, TextLine, mrz_groups
from drivers.interfaces import ImageU8

GUIDANCE_LIMIT = 640  # detector input for the preview
MIN_LINE_PX = 18  # MRZ line thickness below which the OCR loses characters
MAX_SATURATED = 0.02  # fraction of clipped pixels in the band
MIN_SHARPNESS = 60.0  # variance of the Laplacian inside the band
MAX_MOTION = 0.6  # band movement between frames, in line thicknesses


@dataclass(frozen=True)
class FrameHints:
    prompts: tuple[str, ...]
    band: tuple[tuple[float, float], ...]  # corners of the MRZ band, empty when none
    line_px: float


class MrzGuidance:
    """Holds the previous frame's band, to tell motion; one per preview stream."""

    def __init__(self, detector: TextDetector) -> None:
        self._detector = detector
        self._previous: TextLine | None = None

    def analyse(self, frame: ImageU8) -> FrameHints:
        lines = self._detector.lines(frame, GUIDANCE_LIMIT)
        groups = [g for g in mrz_groups(lines) if len(g) >= 2]
        if not groups:
            self._previous = None
            return FrameHints(("doc.no_mrz",), (), 0.0)
        group = max(groups, key=lambda g: sum(line.length for line in g))
        top, bottom = group[0], group[-1]
        band = np.concatenate([top.corners()[:2], bottom.corners()[2:]])
        thickness = float(np.median([line.thickness for line in group]))
        prompts: list[str] = []
        if thickness < MIN_LINE_PX:
            prompts.append("doc.move_closer")
        x, y, w, h = cv2.boundingRect(band.astype(np.int32))
        x, y = max(0, x), max(0, y)
        region = frame[y : y + h, x : x + w]
        if region.size:
            grey = cv2.cvtColor(region, cv2.COLOR_BGR2GRAY) if region.ndim == 3 else region
            if float((grey >= 250).mean()) > MAX_SATURATED:
                prompts.append("doc.glare")
            sharp = float(cv2.Laplacian(grey, cv2.CV_64F).var())
            moved = self._previous is not None and (
                np.hypot(top.cx - self._previous.cx, top.cy - self._previous.cy)
                > MAX_MOTION * thickness
            )
            if sharp < MIN_SHARPNESS or moved:
                prompts.append("doc.hold_still")
        self._previous = top
        corners = tuple((float(px), float(py)) for px, py in band)
        return FrameHints(tuple(prompts), corners, thickness)
