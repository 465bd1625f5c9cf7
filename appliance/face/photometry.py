"""Photometric component measures on the face region (ISO/IEC 29794-5, as OFIQ).

Luminance is OFIQ's: sRGB linearised per channel, Y = 0.2126 R + 0.7152 G +
0.0722 B, scaled to 0..255. Statistics run over the face region bounded by the
mesh's face oval.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from appliance.face.canonical import FACE_OVAL
from appliance.face.landmarks import MOUTH_CORNERS, FaceLandmarks

Array = npt.NDArray[Any]

_LINEAR = np.array(
    [
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
        for c in (i / 255.0 for i in range(256))
    ],
    dtype=np.float32,
)
_LINEAR_LUT = _LINEAR.reshape(1, 256)
_Y_WEIGHTS = np.array([[0.0722, 0.7152, 0.2126]], dtype=np.float32)  # B, G, R


def luminance(bgr: Array) -> Array:
    """OFIQ luminance, 8-bit: linear-light Y of sRGB."""
    linear = cv2.LUT(bgr, _LINEAR_LUT)
    y = cv2.transform(linear, _Y_WEIGHTS)
    result: Array = cv2.convertScaleAbs(y, alpha=255.0, beta=0.0)
    return result


def face_mask(shape: tuple[int, ...], landmarks: FaceLandmarks) -> Array:
    mask = np.zeros(shape[:2], dtype=np.uint8)
    cv2.fillPoly(mask, [landmarks.polygon(FACE_OVAL)], 255)
    return mask


def histogram(values: Array, mask: Array | None) -> Array:
    hist = cv2.calcHist([values], [0], mask, [256], [0, 256]).ravel().astype(np.float64)
    total = hist.sum()
    return hist / total if total else hist


def luminance_stats(hist: Array) -> tuple[float, float]:
    levels = np.arange(256) / 255.0
    mean = float((hist * levels).sum())
    variance = float((hist * (levels - mean) ** 2).sum())
    return mean, variance


def range_fraction(hist: Array, lo: int, hi: int) -> float:
    return float(hist[lo : hi + 1].sum())


def entropy(hist: Array) -> float:
    nonzero = hist[hist > 0]
    return float(-(nonzero * np.log2(nonzero)).sum())


def cheek_regions(landmarks: FaceLandmarks) -> tuple[tuple[int, int, int, int], ...]:
    """OFIQ's two zones below the eyes: (x, y, w, h) each, right cheek first."""
    right, left = landmarks.right_eye_centre, landmarks.left_eye_centre
    mouth = (landmarks.point(MOUTH_CORNERS[0]) + landmarks.point(MOUTH_CORNERS[1])) / 2
    eye_mouth = float(np.linalg.norm(landmarks.eye_midpoint - mouth))
    zone = max(2, int(landmarks.inter_eye_distance * 0.3))
    drop = int(eye_mouth / 2)
    return (
        (int(right[0]) - zone, int(right[1]) + drop, zone, zone),
        (int(left[0]), int(left[1]) + drop, zone, zone),
    )


def _clip(region: tuple[int, int, int, int], shape: tuple[int, ...]) -> tuple[slice, slice]:
    x, y, w, h = region
    return slice(max(0, y), max(0, min(shape[0], y + h))), slice(
        max(0, x), max(0, min(shape[1], x + w))
    )


def illumination_uniformity(lum: Array, landmarks: FaceLandmarks) -> float | None:
    """Histogram intersection of the two cheek zones (1 = identical light)."""
    zones = [lum[_clip(r, lum.shape)] for r in cheek_regions(landmarks)]
    if any(zone.size == 0 for zone in zones):
        return None
    right, left = (histogram(np.ascontiguousarray(z), None) for z in zones)
    return float(np.minimum(right, left).sum())


def natural_colour(bgr: Array, landmarks: FaceLandmarks) -> float | None:
    """OFIQ: distance of the cheeks' mean CIELAB a*, b* from a* 5..25, b* 5..35."""
    zones = [bgr[_clip(r, bgr.shape)] for r in cheek_regions(landmarks)]
    if any(zone.size == 0 for zone in zones):
        return None
    pixels = np.concatenate([z.reshape(-1, 3) for z in zones]).reshape(-1, 1, 3)
    lab = cv2.cvtColor(pixels.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab).reshape(-1, 3)
    a, b = float(lab[:, 1].mean()), float(lab[:, 2].mean())
    if a < 0 or b < 0:
        return 100.0
    da = max(0.0, 5 - a, a - 25)
    db = max(0.0, 5 - b, b - 35)
    return math.hypot(da, db)


def blockiness(lum: Array) -> float:
    """JPEG 8x8 blockiness: mean gradient across block borders over the interior mean.

    About 1.0 for an uncompressed image; heavy JPEG compression raises it.
    """
    image = lum.astype(np.float32)
    ratios = []
    for axis in (0, 1):
        diff = np.abs(np.diff(image, axis=axis))
        diff = diff.mean(axis=1 - axis)
        if diff.size < 16:
            continue
        index = np.arange(diff.size)
        border = diff[index % 8 == 7].mean()
        interior = diff[index % 8 != 7].mean()
        ratios.append(border / max(interior, 1e-3))
    return float(max(ratios)) if ratios else 1.0


def halves_ratio(lum: Array, landmarks: FaceLandmarks, mask: Array | None = None) -> float | None:
    """Mean luminance of the darker half of the face over the lighter half.

    The face oval is split by the line through the forehead top and the chin;
    side lighting darkens one half. 1.0 means evenly lit.
    """
    if mask is None:
        mask = face_mask(lum.shape, landmarks)
    top, chin = landmarks.point(10), landmarks.point(152)
    direction = chin - top
    length = float(np.hypot(direction[0], direction[1]))
    if length < 2:
        return None
    # A polygon covering everything on one side of the line (far beyond the image).
    far = 4.0 * float(max(lum.shape))
    along = direction / length
    normal = np.array([-along[1], along[0]])
    start, end = top - far * along, top + far * along
    side = np.round(np.array([start, end, end + far * normal, start + far * normal])).astype(
        np.int32
    )
    half = np.zeros_like(mask)
    cv2.fillConvexPoly(half, side, 255)
    one = cv2.bitwise_and(mask, half)
    other = cv2.bitwise_and(mask, cv2.bitwise_not(half))
    if cv2.countNonZero(one) < 10 or cv2.countNonZero(other) < 10:
        return None
    a, b = cv2.mean(lum, one)[0], cv2.mean(lum, other)[0]
    return float(min(a, b) / max(a, b, 1e-6))
