"""Occlusion measures from colour: eyes, mouth, face, head covering.

A skin reference (median CIELAB of small patches on the forehead centre, the
nose bridge and under each eye) decides which pixels look like uncovered skin.
Occluders (masks, scarves, hands, hats, dark glasses, eye bars) differ in
colour or texture from that reference.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from appliance.face.canonical import FACE_OVAL
from appliance.face.landmarks import (
    LEFT_BROW,
    LEFT_EYE_CONTOUR,
    OUTER_LIPS,
    RIGHT_BROW,
    RIGHT_EYE_CONTOUR,
    FaceLandmarks,
)

Array = npt.NDArray[Any]

# Forehead, nose bridge, cheekbones, lower cheeks, chin: an occluder rarely covers
# most of them at once.
_REFERENCE_POINTS = (151, 6, 117, 346, 205, 425, 199)
_FOREHEAD_RIM = (21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251)


def to_lab(bgr: Array) -> Array:
    lab: Array = cv2.cvtColor(bgr.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)
    return lab


def skin_reference(lab: Array, landmarks: FaceLandmarks) -> Array:
    """Mean CIELAB of the largest group of mutually similar reference patches."""
    half = max(2, int(landmarks.inter_eye_distance * 0.08))
    means = []
    for index in _REFERENCE_POINTS:
        x, y = (int(v) for v in landmarks.point(index))
        patch = lab[max(0, y - half) : y + half, max(0, x - half) : x + half]
        if patch.size:
            means.append(patch.reshape(-1, 3).mean(axis=0))
    if not means:
        return np.array([60.0, 12.0, 15.0], np.float32)
    patches = np.array(means)
    distance = (
        np.linalg.norm(patches[:, None, 1:] - patches[None, :, 1:], axis=2)
        + np.abs(patches[:, None, 0] - patches[None, :, 0]) * 0.3
    )
    close = distance < 12.0
    best = int(np.argmax(close.sum(axis=1)))
    result: Array = patches[close[best]].mean(axis=0).astype(np.float32)
    return result


def skin_like(lab: Array, reference: Array) -> Array:
    l_ok = (lab[:, :, 0] > reference[0] - 40) & (lab[:, :, 0] < reference[0] + 30)
    a_ok = np.abs(lab[:, :, 1] - reference[1]) < 12
    b_ok = np.abs(lab[:, :, 2] - reference[2]) < 14
    result: Array = l_ok & a_ok & b_ok
    return result


def _mask(shape: tuple[int, ...], *polygons: Array) -> Array:
    mask = np.zeros(shape[:2], np.uint8)
    for polygon in polygons:
        cv2.fillPoly(mask, [polygon], 1)
    return mask.astype(bool)


def _grow(mask: Array, pixels: int) -> Array:
    if pixels <= 0:
        return mask
    kernel = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def eyes_visible(lab: Array, landmarks: FaceLandmarks, reference: Array) -> float:
    """How much each eye region shows an eye, 0..1, the lower of the two eyes.

    An open, visible eye spans a wide lightness range (sclera, iris, lashes);
    dark glasses and eye bars flatten it. The spread (5th to 95th percentile
    of L*) is compared with a typical eye's, scaled by the skin's lightness so
    that a dim but visible eye still counts.
    """
    grow = max(1, int(landmarks.inter_eye_distance * 0.03))
    typical = max(15.0, 0.6 * float(reference[0]))
    scores = []
    for contour in (RIGHT_EYE_CONTOUR, LEFT_EYE_CONTOUR):
        region = _grow(_mask(lab.shape, landmarks.polygon(contour)), grow)
        values = lab[:, :, 0][region]
        if values.size < 8:
            scores.append(0.0)
            continue
        spread = float(np.percentile(values, 95) - np.percentile(values, 5))
        scores.append(min(1.0, spread / typical))
    return min(scores)


def mouth_occlusion(
    lab: Array, landmarks: FaceLandmarks, reference: Array, skin: Array | None = None
) -> float:
    """Fraction of the mouth region that is neither skin- nor lip-coloured.

    ``skin`` is :func:`skin_like` of ``lab`` when the caller already has it.
    """
    grow = max(1, int(landmarks.inter_eye_distance * 0.08))
    region = _grow(_mask(lab.shape, landmarks.polygon(OUTER_LIPS)), grow)
    if not region.any():
        return 1.0
    if skin is None:
        skin = skin_like(lab, reference)
    pixels = lab[region]
    ok = skin[region] | _lip_like_pixels(pixels, reference)
    # The inside of an open mouth (teeth, shadow) is neither; mouth_closed covers it.
    return float(1.0 - ok.mean())


def _lip_like_pixels(pixels: Array, reference: Array) -> Array:
    l_ok = (pixels[:, 0] > reference[0] - 50) & (pixels[:, 0] < reference[0] + 25)
    a_ok = (pixels[:, 1] > reference[1] - 6) & (pixels[:, 1] < reference[1] + 35)
    b_ok = np.abs(pixels[:, 2] - reference[2]) < 20
    result: Array = l_ok & a_ok & b_ok
    return result


def face_occlusion(lab: Array, landmarks: FaceLandmarks, skin: Array) -> float:
    """Fraction of the face (oval minus eyes, brows and mouth) that is not skin-like.

    ``skin`` is :func:`skin_like` of ``lab``.
    """
    grow = max(1, int(landmarks.inter_eye_distance * 0.06))
    face = _mask(lab.shape, landmarks.polygon(FACE_OVAL))
    features = _grow(
        _mask(
            lab.shape,
            landmarks.polygon(RIGHT_EYE_CONTOUR),
            landmarks.polygon(LEFT_EYE_CONTOUR),
            landmarks.polygon(OUTER_LIPS),
            landmarks.polygon(RIGHT_BROW),
            landmarks.polygon(LEFT_BROW),
        ),
        grow,
    )
    region = face & ~features
    if not region.any():
        return 1.0
    return float(1.0 - skin[region].mean())


def head_covering(lab: Array, landmarks: FaceLandmarks, skin: Array) -> float:
    """Fraction of the forehead band (face oval above the brows) that is covered.

    ``skin`` is :func:`skin_like` of ``lab``.
    """
    outline = np.concatenate(
        [
            landmarks.polygon(_FOREHEAD_RIM),
            landmarks.polygon(LEFT_BROW)[::-1],
            landmarks.polygon(RIGHT_BROW)[::-1],
        ]
    )
    band = _mask(lab.shape, outline)
    # Blown-out or black pixels carry no colour: they count neither way.
    band &= (lab[:, :, 0] > 4) & (lab[:, :, 0] < 96)
    if not band.any():
        return 0.0
    return float(1.0 - skin[band].mean())


def iris_darkness(lab: Array, landmarks: FaceLandmarks, reference: Array) -> float | None:
    """Lightness of the iris disks relative to the skin, the lighter of the two eyes.

    An open eye shows a dark iris and pupil (well under the skin's lightness);
    a closed eye shows the eyelid there, about as light as the skin.
    """
    ratios = []
    for iris in (landmarks.right_iris, landmarks.left_iris):
        if iris is None:
            return None
        x, y, radius = iris
        r = max(1, round(radius * 0.6))
        patch = lab[max(0, int(y) - r) : int(y) + r + 1, max(0, int(x) - r) : int(x) + r + 1, 0]
        if patch.size == 0:
            return None
        # The pupil is dark in every eye colour and fills about 40 % of the central disk;
        # a closed lid shows skin there, its lash line too thin to reach the 35th percentile.
        ratios.append(float(np.percentile(patch, 35)) / max(1.0, float(reference[0])))
    return max(ratios)
