"""Background uniformity: texture, colour and gradients behind the subject.

Three measures, all on background pixels of the frame reduced so that the
inter-eye distance is 60 px (OFIQ's working scale is similar):

- ``gradient``: mean Scharr gradient magnitude of the luminance (OFIQ's
  BackgroundUniformity raw value): clutter, edges, texture;
- ``chroma``: CIELAB chroma of the mean background colour: a plain, neutral
  backdrop (ICAO: plain, light, no colour);
- ``spread``: CIELAB distance between the darkest and lightest, and the most
  differently coloured, parts of the background seen coarsely (inter-eye
  distance 15 px; 3rd to 97th percentile of L*, a*, b*): a strong gradient or a
  shadow on the backdrop. A smooth ramp has tiny local gradients, so OFIQ's
  measure alone misses it.

Colour and spread are read beside and above the head, down to the mouth line.
Lower down, shoulders and clothing meet the backdrop, and at the coarse scale
the segmenter calls some clothing background: on scikit-image's astronaut cut
as a passport photo, her dark suit's raised collar read as background and
rejected 7 of 20 compliant crops (spread 41-85). A backdrop relit down to 45 %
of its brightness still fails whichever way the ramp runs; down to 60 %, it
fails when the ramp runs across, but a ramp from top to bottom is seen only
over the upper part (missed on 30 of 99 crops, against 4 of 93 before).

Which pixels are background: first a geometric guess from the face mesh (the
frame beside and above the head, above the chin line, outside a generous head
ellipse). When the guess is clearly uniform the verdict stands and the person
segmenter never runs; otherwise hair, hats or shoulders may be in the guess, so
the segmenter decides (person probability under 0.2, eroded).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from appliance.face.landmarks import CHEEK_LEFT, CHEEK_RIGHT, FaceLandmarks, Pyramid
from appliance.face.photometry import luminance

Array = npt.NDArray[Any]

WORKING_INTER_EYE = 60.0
COLOUR_INTER_EYE = 15.0  # colour and spread are smooth measures: a coarse copy is enough
MIN_PIXELS = 200  # background pixels needed at the working scale
FAST_MARGIN = 0.7  # the geometric guess decides when every measure is under 70 % of its limit


@dataclass(frozen=True)
class BackgroundLimits:
    gradient: float
    chroma: float
    spread: float


@dataclass(frozen=True)
class Background:
    gradient: float
    chroma: float
    spread: float
    segmented: bool  # True when the person segmenter had to decide

    def passes(self, limits: BackgroundLimits) -> bool:
        return (
            self.gradient <= limits.gradient
            and self.chroma <= limits.chroma
            and self.spread <= limits.spread
        )


def assess(
    pyramid: Pyramid,
    landmarks: FaceLandmarks,
    person_mask: Callable[[Array], Array],
    limits: BackgroundLimits,
) -> Background | None:
    """Background measures; ``None`` when no background is visible."""
    ied = max(1.0, landmarks.inter_eye_distance)
    scale = min(1.0, WORKING_INTER_EYE / ied)
    small = pyramid.shrink(scale)
    coarse_scale = min(1.0, COLOUR_INTER_EYE / ied)
    coarse = pyramid.shrink(coarse_scale)
    gradient = _gradient(luminance(small))
    lab: Array = cv2.cvtColor(coarse.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_BGR2Lab)
    backdrop_end = _mouth_line(landmarks, coarse_scale)
    lab = lab[:backdrop_end]  # colour and spread: beside and above the head only
    fast = _measures(
        gradient,
        _geometric(small.shape, landmarks, scale),
        lab,
        _geometric(coarse.shape, landmarks, coarse_scale)[:backdrop_end],
    )
    if fast is not None and (
        fast.gradient <= FAST_MARGIN * limits.gradient
        and fast.chroma <= FAST_MARGIN * limits.chroma
        and fast.spread <= FAST_MARGIN * limits.spread
    ):
        return fast
    person = person_mask(small)
    found = _measures(
        gradient,
        _background(person, small.shape),
        lab,
        _background(person, coarse.shape)[:backdrop_end],
    )
    if found is None:
        return None
    return Background(found.gradient, found.chroma, found.spread, segmented=True)


def _background(person: Array, shape: tuple[int, ...]) -> Array:
    """Pixels the segmenter calls background, eroded away from the silhouette."""
    resized = cv2.resize(person, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    mask = cv2.erode((resized < 0.2).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2)
    result: Array = mask.astype(bool)
    return result


def _gradient(lum: Array) -> Array:
    gx = cv2.Scharr(lum, cv2.CV_32F, 1, 0)
    gy = cv2.Scharr(lum, cv2.CV_32F, 0, 1)
    result: Array = cv2.magnitude(gx, gy)
    return result


def _geometric(shape: tuple[int, ...], landmarks: FaceLandmarks, scale: float) -> Array:
    """Pixels that are background in any framing a portrait can have."""
    height, width = shape[:2]
    mid = landmarks.eye_midpoint * scale
    t = landmarks.t_metric * scale
    half_face = (
        0.5
        * scale
        * float(np.linalg.norm(landmarks.point(CHEEK_LEFT) - landmarks.point(CHEEK_RIGHT)))
    )
    mask: Array = np.ones((height, width), np.uint8)
    centre = (round(float(mid[0])), round(float(mid[1] - 0.15 * t)))
    axes = (max(1, round(1.45 * half_face)), max(1, round(1.6 * t)))
    cv2.ellipse(mask, centre, axes, 0.0, 0.0, 360.0, 0, -1)
    chin_line = int(max(0, min(height, mid[1] + 0.8 * t)))
    mask[chin_line:] = 0
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=2)
    result: Array = mask.astype(bool)
    return result


def _mouth_line(landmarks: FaceLandmarks, scale: float) -> int:
    """The row (at ``scale``) down to which colour and spread are read: the backdrop
    beside and above the head. Lower down, shoulders and clothing meet the backdrop,
    and at the coarse scale the segmenter labels some clothing edges (a raised collar)
    background."""
    row = (float(landmarks.eye_midpoint[1]) + 0.5 * float(landmarks.t_metric)) * scale
    return max(1, round(row))


def _measures(
    gradient: Array, gradient_mask: Array, lab: Array, colour_mask: Array
) -> Background | None:
    if int(gradient_mask.sum()) < MIN_PIXELS or int(colour_mask.sum()) < MIN_PIXELS // 10:
        return None
    values = lab[colour_mask]
    lo, hi = np.percentile(values, (3, 97), axis=0)
    mean = values.mean(axis=0)
    return Background(
        gradient=float(gradient[gradient_mask].mean()),
        chroma=math.hypot(float(mean[1]), float(mean[2])),
        spread=float(np.linalg.norm(hi - lo)),
        segmented=False,
    )
