"""The face's neighbourhood: every per-face measure runs on this crop, not the frame."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from appliance.face.landmarks import FaceLandmarks, Pyramid

Array = npt.NDArray[Any]


def face_crop(
    frame: Array, landmarks: FaceLandmarks, margin: float = 0.15, align: int = 1
) -> tuple[Array, FaceLandmarks]:
    """The mesh's bounding box plus ``margin`` (of its width), and the landmarks moved into it.

    ``align`` rounds the crop's origin down to a multiple of it (8 keeps a JPEG
    block grid in place).
    """
    xs, ys = landmarks.mesh[:, 0], landmarks.mesh[:, 1]
    pad = margin * float(xs.max() - xs.min())
    x0 = max(0, int(xs.min() - pad))
    y0 = max(0, int(ys.min() - pad))
    x0 -= x0 % align
    y0 -= y0 % align
    x1 = min(frame.shape[1], int(xs.max() + pad) + 1)
    y1 = min(frame.shape[0], int(ys.max() + pad) + 1)
    crop = np.ascontiguousarray(frame[y0 : max(y0 + 1, y1), x0 : max(x0 + 1, x1)])
    return crop, landmarks.shifted(x0, y0)


def reduced(crop: Array, local: FaceLandmarks, inter_eye: float) -> tuple[Array, FaceLandmarks]:
    """``crop`` resampled so that the inter-eye distance is at most ``inter_eye`` pixels.

    Colour, occlusion and exposure measures are fractions and statistics of
    regions: they need no more pixels than that, and cost in proportion to them.
    """
    scale = min(1.0, inter_eye / max(local.inter_eye_distance, 1.0))
    if scale >= 1.0:
        return crop, local
    small = Pyramid(crop).shrink(scale)
    factor = small.shape[1] / crop.shape[1]
    return small, local.shifted(0.0, 0.0, factor)
