"""Where the head-pose error on re-rendered heads comes from (used by ``bench/face_pose.py``).

Three measures that separate the estimator from the landmark model and from
the bench itself:

- :func:`error_model`: the signed error of each axis as ``bias + gain * angle``
  plus what is left (``noise_sd``). A bias constant over one person's renders
  is a ground-truth offset (the frontalised head is not exactly frontal, or
  the estimator reads that face with an offset); a gain shows an estimate
  that grows more slowly (< 0) or faster (> 0) than the applied angle; the
  noise is render-to-render scatter that no fit can remove.
- :class:`LandmarkFollow`: how much of the true 2-D parallax of a turned head
  the landmark model's x, y reproduce, independent of any pose fit. The
  truth is the rendered head's own mesh turned by the applied rotation and
  projected; the part a 2-D similarity (shift, scale, in-plane turn) cannot
  explain is the out-of-plane parallax. 1.0: the landmarks move exactly as
  the head does; 0.8: they move 80 % of the way and lag towards a frontal
  face, so every geometric fit on them reads about 80 % of the angle.
- the renderer's fidelity: the pose read on the head re-rendered at the
  photo's own orientation, minus the pose read on the photo itself (the same
  geometry, only resampled and with the rendered context around the face).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]
AXES = ("yaw", "pitch", "roll")
_TO_CAMERA = np.array([1.0, -1.0])  # image x right, y down -> y up


def axes(values: Any, digits: int = 2) -> dict[str, float]:
    return {axis: round(float(v), digits) for axis, v in zip(AXES, values, strict=True)}


def error_model(signed: Array, truth: Array) -> dict[str, dict[str, float]]:
    """Per axis: signed error = bias + gain * applied angle + noise (least squares)."""
    bias, gain, noise = [], [], []
    for axis in range(3):
        design = np.column_stack([np.ones(len(truth)), truth[:, axis]])
        coef, *_ = np.linalg.lstsq(design, signed[:, axis], rcond=None)
        rest = signed[:, axis] - design @ coef
        bias.append(coef[0])
        gain.append(coef[1])
        noise.append(rest.std())
    return {"bias": axes(bias), "gain": axes(gain, 3), "noise_sd": axes(noise)}


def _similarity(source: Array, target: Array) -> Array:
    """``source`` moved by the 2-D similarity that best maps it onto ``target``."""
    s = source - source.mean(axis=0)
    t = target - target.mean(axis=0)
    a = float((s * t).sum())
    b = float((s[:, 0] * t[:, 1] - s[:, 1] * t[:, 0]).sum())
    norm = max(float((s**2).sum()), 1e-12)
    matrix = np.array([[a, -b], [b, a]]) / norm
    result: Array = s @ matrix.T + target.mean(axis=0)
    return result


class LandmarkFollow:
    """Accumulates how far the landmark model's x, y follow a turned head."""

    def __init__(self) -> None:
        self._along = 0.0
        self._true = 0.0

    def add(self, head: Array, rotation: Array, mesh: Array) -> None:
        """``head``: the rendered mesh vertices (camera frame, frontal); ``mesh``:
        the landmarks read on the render (image pixels)."""
        truth = (head @ rotation.T)[:, :2]
        frontal = _similarity(head[:, :2], truth)
        seen = _similarity(mesh[:, :2] * _TO_CAMERA, truth)
        parallax = truth - frontal
        self._along += float((parallax * (seen - frontal)).sum())
        self._true += float((parallax**2).sum())

    @property
    def ratio(self) -> float:
        return round(self._along / max(self._true, 1e-12), 3)
