"""The ISO/IEC 19794-5 token frontal image.

Geometry (ISO/IEC 19794-5, 8.4 token face image): image width W, height
W / 0.75; eyes level, inter-eye distance 0.25 W, eye midpoint at x = 0.5 W and
y = 0.6 W from the top. W is chosen so that the source is never upscaled, and
is at least 240 px (inter-eye distance 60 px), the standard's minimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from appliance.face.landmarks import FaceLandmarks

Array = npt.NDArray[Any]
MIN_WIDTH = 240


@dataclass(frozen=True)
class TokenImage:
    image: Array  # BGR
    width: int
    height: int
    inter_eye_distance: float


def token_geometry(width: int) -> tuple[int, float, tuple[float, float]]:
    """(height, inter-eye distance, eye midpoint) of a token image ``width`` wide."""
    return round(width / 0.75), 0.25 * width, (0.5 * width, 0.6 * width)


def make_token(image: Array, landmarks: FaceLandmarks) -> TokenImage:
    right, left = landmarks.right_eye_centre, landmarks.left_eye_centre
    source_ied = float(np.linalg.norm(left - right))
    width = max(MIN_WIDTH, round(source_ied * 2) * 2)
    height, ied, (mx, my) = token_geometry(width)
    scale = ied / max(source_ied, 1e-6)
    angle = math.degrees(math.atan2(left[1] - right[1], left[0] - right[0]))
    mid = (right + left) / 2
    matrix = cv2.getRotationMatrix2D((float(mid[0]), float(mid[1])), angle, scale)
    matrix[0, 2] += mx - mid[0]
    matrix[1, 2] += my - mid[1]
    token = cv2.warpAffine(
        image, matrix, (width, height), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )
    return TokenImage(token, width, height, ied)


def encode(image: Array, *, prefer_jpeg2000: bool = True) -> tuple[bytes, str]:
    """Encode as JPEG 2000 when OpenCV has it, else JPEG; returns (data, media type)."""
    if prefer_jpeg2000:
        try:
            ok, data = cv2.imencode(".jp2", image, [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 200])
        except cv2.error:
            ok = False
        if ok:
            return data.tobytes(), "image/jp2"
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes(), "image/jpeg"


def warm_up_token() -> None:
    """Cut and encode one synthetic token: loads OpenCV's JPEG 2000 codec."""
    frame = np.full((MIN_WIDTH * 2, MIN_WIDTH * 2, 3), 128, np.uint8)
    cv2.circle(frame, (MIN_WIDTH, MIN_WIDTH), MIN_WIDTH // 3, (90, 110, 160), -1)
    encode(frame[: round(MIN_WIDTH / 0.75), :MIN_WIDTH])
