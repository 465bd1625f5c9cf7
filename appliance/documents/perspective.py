"""Document capture: find the document in a camera frame and undo the perspective.

The document is the largest convex quadrilateral in the frame (Canny edges,
contours, polygon approximation). Its corners are ordered, the output size
follows the nearest standard format (ID-1 cards 85.60 x 53.98 mm, ID-3
passport pages 125 x 88 mm, or A4), and ``cv2.warpPerspective`` maps it to
a flat, upright rectangle. When no document is found the frame is returned
unchanged and marked as not corrected, so the operator can decide.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from drivers.interfaces import ImageU8

logger = logging.getLogger(__name__)

#: Landscape aspect ratios (long side / short side) of the formats we straighten to.
FORMATS = {"id1": 85.60 / 53.98, "id3": 125.0 / 88.0, "a4": 297.0 / 210.0}
OUTPUT_LONG_SIDE = 1200
MIN_AREA_FRACTION = 0.08

Quad = npt.NDArray[np.float32]  # (4, 2): top-left, top-right, bottom-right, bottom-left


@dataclass(frozen=True, eq=False)
class RectifiedDocument:
    image: ImageU8
    corrected: bool
    quad: Quad | None
    format: str | None


def order_corners(points: npt.NDArray[Any]) -> Quad:
    """Top-left, top-right, bottom-right, bottom-left (image coordinates)."""
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    total = pts.sum(axis=1)
    diff = np.diff(pts, axis=1).ravel()
    return np.array(
        [pts[np.argmin(total)], pts[np.argmin(diff)], pts[np.argmax(total)], pts[np.argmax(diff)]],
        dtype=np.float32,
    )


def find_document(image: ImageU8) -> Quad | None:
    """The corners of the largest convex quadrilateral, or None."""
    height, width = image.shape[:2]
    scale = 640 / max(height, width) if max(height, width) > 640 else 1.0
    small = cv2.resize(image, None, fx=scale, fy=scale) if scale < 1 else image
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    gray = cv2.GaussianBlur(gray, (5, 5), 0)
    edges = cv2.Canny(gray, 40, 120)
    edges = cv2.dilate(edges, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    min_area = MIN_AREA_FRACTION * gray.shape[0] * gray.shape[1]
    best: tuple[float, npt.NDArray[Any]] | None = None
    for contour in contours:
        area = cv2.contourArea(contour)
        if area < min_area or (best is not None and area <= best[0]):
            continue
        hull = cv2.convexHull(contour)
        approx = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            best = (area, approx)
    if best is None:
        return None
    return order_corners(best[1].reshape(4, 2) / scale)


def _output_size(quad: Quad) -> tuple[int, int, str]:
    tl, tr, br, bl = quad
    width = float(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = float(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    ratio = max(width, height) / max(1.0, min(width, height))
    name = min(FORMATS, key=lambda k: abs(FORMATS[k] - ratio))
    long_side = OUTPUT_LONG_SIDE
    short_side = round(long_side / FORMATS[name])
    return (long_side, short_side, name) if width >= height else (short_side, long_side, name)


def rectify(image: ImageU8) -> RectifiedDocument:
    """The document in ``image``, flat and upright; the frame itself if none is found."""
    quad = find_document(image)
    if quad is None:
        return RectifiedDocument(image, False, None, None)
    out_w, out_h, name = _output_size(quad)
    target = np.array([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    flat = cv2.warpPerspective(image, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC)
    return RectifiedDocument(np.asarray(flat, dtype=np.uint8), True, quad, name)


def analyse_document_frame(image: ImageU8) -> dict[str, Any]:
    """Per-frame guidance for the document preview (same shape as the face analyser)."""
    quad = find_document(image)
    if quad is None:
        return {"prompts": ["document.not_found"], "quad": None}
    return {"prompts": [], "quad": quad.round().astype(int).tolist()}
