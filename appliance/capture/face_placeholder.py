"""Coarse face guidance for the demo profile when the face engine's models are absent.

Same shape as the engine's per-frame guidance: ``{"prompts": [message keys],
"box": [x, y, w, h] | None, "ok": bool}``. The composition root refuses to start
a production kiosk without the face models, so this runs only under
``profile: demo``: :func:`placeholder_analyse_frame` gives coarse guidance — subject found
against a plain backdrop, distance, centring, light and sharpness — from
plain image statistics, with the engine's prompt keys. It is *not* an ICAO
check and must not be used to accept photos in production.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from drivers.interfaces import ImageU8

logger = logging.getLogger(__name__)

FrameAnalyser = Callable[[ImageU8], dict[str, Any]]

#: Message keys the placeholder emits (the face engine's vocabulary; all in the catalogs).
PLACEHOLDER_PROMPTS = (
    "face.no_face",
    "face.move_closer",
    "face.move_back",
    "face.move_left",
    "face.move_right",
    "face.move_up",
    "face.move_down",
    "face.too_dark",
    "face.too_bright",
    "face.keep_still",
)


def _subject_mask(gray: ImageU8, image: ImageU8) -> ImageU8:
    """Pixels that differ from the backdrop (median colour of the top and side borders)."""
    h, w = gray.shape
    border = np.concatenate(
        [image[: h // 20].reshape(-1, 3), image[:, : w // 20].reshape(-1, 3)], axis=0
    )
    backdrop = np.median(border, axis=0)
    distance = np.abs(image.astype(np.int16) - backdrop.astype(np.int16)).sum(axis=2)
    mask = np.asarray((distance > 45).astype(np.uint8) * 255, dtype=np.uint8)
    kernel = np.ones((5, 5), np.uint8)
    return np.asarray(cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel), dtype=np.uint8)


def placeholder_analyse_frame(image: ImageU8) -> dict[str, Any]:
    """Coarse guidance from image statistics (see the module docstring)."""
    width = image.shape[1]
    scale = 320 / width if width > 320 else 1.0
    small: ImageU8 = np.asarray(
        cv2.resize(image, None, fx=scale, fy=scale) if scale < 1 else image, dtype=np.uint8
    )
    gray: ImageU8 = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    mask = _subject_mask(gray, small)
    rows = np.flatnonzero(mask.sum(axis=1) > 0.05 * 255 * mask.shape[1])
    if rows.size == 0:
        return {"prompts": ["face.no_face"], "box": None, "ok": False}
    top = int(rows[0])
    probe = min(mask.shape[0] - 1, top + int(0.12 * mask.shape[0]))
    cols = np.flatnonzero(mask[probe] > 0)
    if cols.size < 0.05 * mask.shape[1]:
        return {"prompts": ["face.no_face"], "box": None, "ok": False}
    head_w = float(cols[-1] - cols[0])
    head_h = min(head_w * 1.35, mask.shape[0] - top)
    cx = float(cols[0] + cols[-1]) / 2
    box = [
        int((cx - head_w / 2) / scale),
        int(top / scale),
        int(head_w / scale),
        int(head_h / scale),
    ]
    prompts: list[str] = []
    fill = head_h / mask.shape[0]
    if fill < 0.42:
        prompts.append("face.move_closer")
    elif fill > 0.62:
        prompts.append("face.move_back")
    dx = cx / mask.shape[1] - 0.5
    if dx < -0.1:
        prompts.append("face.move_right")  # the applicant sees a mirrored picture
    elif dx > 0.1:
        prompts.append("face.move_left")
    if top / mask.shape[0] > 0.3:
        prompts.append("face.move_up")
    elif top / mask.shape[0] < 0.02:
        prompts.append("face.move_down")
    x0, y0 = int(cx - head_w / 2), top
    region = gray[y0 : y0 + int(head_h), max(0, x0) : x0 + int(head_w)]
    if region.size:
        brightness = float(region.mean())
        if brightness < 70:
            prompts.append("face.too_dark")
        elif brightness > 215:
            prompts.append("face.too_bright")
        if float(cv2.Laplacian(region, cv2.CV_64F).var()) < 150:
            prompts.append("face.keep_still")
    return {"prompts": prompts, "box": box, "ok": not prompts}
