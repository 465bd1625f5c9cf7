"""Geometric component measures from the face mesh: eyes, mouth, expression.

Head pose is :mod:`appliance.face.pose` (carried by each landmark set).
"""

from __future__ import annotations

import numpy as np

from appliance.face.landmarks import (
    INNER_LIP_PAIRS,
    LEFT_EYE_CORNERS,
    LEFT_EYE_LIDS,
    MOUTH_CORNERS,
    RIGHT_EYE_CORNERS,
    RIGHT_EYE_LIDS,
    FaceLandmarks,
)


def _pair_max(landmarks: FaceLandmarks, pairs: tuple[tuple[int, int], ...]) -> float:
    return max(float(np.linalg.norm(landmarks.point(a) - landmarks.point(b))) for a, b in pairs)


def eyes_open(landmarks: FaceLandmarks) -> float:
    """OFIQ EyesOpen raw: the smaller of the two eyelid openings, over T."""
    t = max(landmarks.t_metric, 1e-6)
    return min(_pair_max(landmarks, RIGHT_EYE_LIDS), _pair_max(landmarks, LEFT_EYE_LIDS)) / t


def mouth_opening(landmarks: FaceLandmarks) -> float:
    """OFIQ MouthClosed raw: the largest inner-lip opening, over T."""
    return _pair_max(landmarks, INNER_LIP_PAIRS) / max(landmarks.t_metric, 1e-6)


# Limits of the expression features, in inter-eye distances measured in the
# roll-corrected frame: where a feature reaches its limit the deviation is 1.
# They are deliberately tolerant (a closed-lip resting face varies a lot
# between people); a broad or open smile and raised eyebrows exceed them.
MOUTH_WIDTH_MAX = 1.05
CORNER_LIFT_MAX = 0.14
BROW_RAISE_MAX = 0.60
OPENING_MAX = 0.085  # inner-lip opening over T


def expression_features(landmarks: FaceLandmarks) -> dict[str, float]:
    """Mouth width, mouth-corner lift, eyebrow raise and mouth opening."""
    up = landmarks.upright
    right_eye = (up[RIGHT_EYE_CORNERS[0], :2] + up[RIGHT_EYE_CORNERS[1], :2]) / 2
    left_eye = (up[LEFT_EYE_CORNERS[0], :2] + up[LEFT_EYE_CORNERS[1], :2]) / 2
    ied = max(float(np.linalg.norm(left_eye - right_eye)), 1e-6)
    right_corner, left_corner = up[MOUTH_CORNERS[0]], up[MOUTH_CORNERS[1]]
    lip_line = (up[13, 1] + up[14, 1]) / 2
    return {
        "width": float(np.linalg.norm(left_corner[:2] - right_corner[:2])) / ied,
        "lift": float(lip_line - (right_corner[1] + left_corner[1]) / 2) / ied,
        "brow": float(((up[159, 1] - up[105, 1]) + (up[386, 1] - up[334, 1])) / 2) / ied,
        "opening": mouth_opening(landmarks),
    }


def expression(landmarks: FaceLandmarks) -> float:
    """Deviation from a neutral expression: 0 neutral, >= 1 at a feature limit.

    A smile widens the mouth and lifts its corners above the lip line, surprise
    raises the eyebrows, speech or laughter opens the mouth; each feature is
    divided by its limit and the largest ratio is the value.
    """
    f = expression_features(landmarks)
    return max(
        f["width"] / MOUTH_WIDTH_MAX,
        f["lift"] / CORNER_LIFT_MAX,
        f["brow"] / BROW_RAISE_MAX,
        f["opening"] / OPENING_MAX,
    )
