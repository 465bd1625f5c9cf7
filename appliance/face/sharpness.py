"""Sharpness at the image's native resolution: focus, motion blur, upscaling.

All three come from one power spectrum of the face's detail region (eyes,
brows, nose, mouth), measured on the pixels as captured, less the noise floor
(the mean power at 0.4-0.5 cycles/pixel, where sensor noise dominates: a
blurred face under noise would otherwise look detailed): a photo enlarged from
a smaller one has no detail near its pixel scale, and resampling the face to a
fixed size first would hide exactly that. Faces larger than needed (inter-eye
distance over 180 px, twice the ICAO minimum) are reduced to it first, so that
a high-resolution camera's softer pixel level is not held against it.

- ``detail``: spectral energy at 0.15-0.3 cycles/pixel relative to
  0.075-0.15 (amplitude ratio, noise floor removed). Natural images carry about equal energy per
  octave, so this does not depend on the face's size; focus blur and
  enlargement remove the upper band (a 4x enlargement leaves nothing above
  0.125 cycles/pixel).
- ``direction``: motion blur removes detail along one direction only. The
  0.1-0.35 cycles/pixel band is split into eight orientation sectors; the
  value is sqrt(weakest / strongest sector energy). A face has detail in every
  direction (about 0.5-0.7 on sharp portraits); a 7-21 px motion streak
  leaves 0.06-0.23.
- ``native_detail``: energy at 0.3-0.5 cycles/pixel relative to 0.075-0.15,
  reported for information (sensor noise lives there too).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from appliance.face.landmarks import (
    LEFT_BROW,
    LEFT_EYE_CONTOUR,
    OUTER_LIPS,
    RIGHT_BROW,
    RIGHT_EYE_CONTOUR,
    FaceLandmarks,
)

Array = npt.NDArray[Any]

MAX_INTER_EYE = 180.0
_DETAIL_REGION = tuple(RIGHT_EYE_CONTOUR + LEFT_EYE_CONTOUR + RIGHT_BROW + LEFT_BROW + OUTER_LIPS)
_SECTORS = 8
_MIN_SIDE = 16


@dataclass(frozen=True)
class Sharpness:
    detail: float
    direction: float
    native_detail: float


def measure(lum: Array, landmarks: FaceLandmarks) -> Sharpness:
    """Spectral sharpness measures of the face in ``lum`` (8-bit luminance)."""
    points = landmarks.mesh[list(_DETAIL_REGION), :2]
    margin = 0.1 * landmarks.inter_eye_distance
    x0, y0 = np.floor(points.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + margin).astype(int)
    x0, y0 = max(0, x0), max(0, y0)
    region = lum[y0 : max(y0, y1), x0 : max(x0, x1)]
    if min(region.shape[:2]) < _MIN_SIDE:
        return Sharpness(0.0, 0.0, 0.0)
    crop: Array = region.astype(np.float32)
    scale = MAX_INTER_EYE / max(landmarks.inter_eye_distance, 1.0)
    if scale < 1.0:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    power = _power_spectrum(crop)
    radius, sector = _geometry(power.shape)
    noise = float(power[(radius >= 0.4) & (radius < 0.5)].mean())
    low = float(power[(radius >= 0.075) & (radius < 0.15)].mean()) - noise
    mid = float(power[(radius >= 0.15) & (radius < 0.3)].mean()) - noise
    high = float(power[(radius >= 0.3) & (radius < 0.5)].mean())
    band = (radius >= 0.1) & (radius < 0.35)
    sectors = np.bincount(sector[band], weights=power[band], minlength=_SECTORS)
    counts = np.bincount(sector[band], minlength=_SECTORS)
    energy = sectors / np.maximum(counts, 1) - noise
    floor = max(low, 1e-12)
    return Sharpness(
        detail=math.sqrt(max(mid, 0.0) / floor),
        direction=math.sqrt(max(float(energy.min()), 0.0) / max(float(energy.max()), 1e-12)),
        native_detail=math.sqrt(high / max(low + noise, 1e-12)),
    )


def _power_spectrum(crop: Array) -> Array:
    """Power spectrum of the Hann-windowed crop, zero-padded to a fast DFT size."""
    height, width = crop.shape
    window = _window(height, width)
    padded = np.zeros((cv2.getOptimalDFTSize(height), cv2.getOptimalDFTSize(width)), np.float32)
    padded[:height, :width] = (crop - crop.mean()) * window
    spectrum = cv2.dft(padded, flags=cv2.DFT_COMPLEX_OUTPUT)
    power: Array = cv2.magnitude(spectrum[:, :, 0], spectrum[:, :, 1]) ** 2
    return power


@functools.lru_cache(maxsize=16)
def _window(height: int, width: int) -> Array:
    window: Array = np.outer(np.hanning(height), np.hanning(width)).astype(np.float32)
    return window


@functools.lru_cache(maxsize=16)
def _geometry(shape: tuple[int, ...]) -> tuple[Array, Array]:
    """Radial frequency (cycles/pixel) and orientation sector of every DFT bin."""
    height, width = shape
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    radius: Array = np.sqrt(fx * fx + fy * fy)
    angle = np.mod(np.arctan2(fy, fx) + math.pi / (2 * _SECTORS), math.pi)
    sector: Array = np.minimum((angle / (math.pi / _SECTORS)).astype(np.int64), _SECTORS - 1)
    return radius, sector
