"""Head pose from the face mesh: geometric fits to mediapipe's canonical face.

The 468-point mesh (x, y in image pixels, z relative depth in the same unit,
smaller = nearer) is brought into a right-handed camera frame (x right, y up,
z towards the camera) and fitted to the canonical face over the rigid
landmarks that mediapipe's own geometry pipeline uses, with its weights:

- pitch and roll come from a 3-D similarity fit ``mesh ~ s R canonical + t``
  (weighted Umeyama/Kabsch, orthographic camera);
- yaw comes from a 2-D fit of the canonical face's projection to the mesh's
  x, y (a weighted affine camera, then the nearest scaled rotation). The
  mesh model's depth lags behind a turn (on renders turned by 20 degrees its
  z reads about 15); its x, y follow the turn better, and the affine fit keeps
  the 2-D problem well conditioned where a pure rotation fit is not.

No offset or gain is calibrated on any face: the canonical model defines the
frontal pose. ``bench/face_pose.py`` measures the error on re-rendered heads
and where it comes from: the landmark model's x, y reproduce only 71-87 % of
a turned head's parallax there (it pulls towards a frontal face), and its
reading of one geometry moves by up to 2 degrees when the image is only
re-rendered, so no fit of these landmarks alone is better than that. The
engine therefore reads the face a second time, turned back to frontal, where
the model reads best (:mod:`appliance.face.frontal`).

Angles (degrees) are Tait-Bryan angles applied in the order of ISO/IEC
19794-5 / 39794-5: yaw about the vertical axis, then pitch about the
transverse axis, then roll about the longitudinal axis, ``R = Ry Rx Rz``:

- yaw > 0: the head turned towards the subject's left (nose to the image's right);
- pitch > 0: the chin lowered (nose down);
- roll > 0: the head tilted so that the subject's left eye is higher.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from appliance.face.canonical import CanonicalFace

Array = npt.NDArray[Any]

_TO_CAMERA = np.array([1.0, -1.0, -1.0])  # image (x right, y down, z away) -> y up, z near


@dataclass(frozen=True)
class HeadPose:
    yaw: float
    pitch: float
    roll: float
    scale: float  # mesh units (pixels) per canonical centimetre
    residual: float  # weighted RMS fit error, in canonical centimetres

    @property
    def angles(self) -> tuple[float, float, float]:
        return self.yaw, self.pitch, self.roll


def rotation(yaw: float, pitch: float, roll: float) -> Array:
    """``Ry(yaw) @ Rx(pitch) @ Rz(roll)`` (degrees) in the camera frame (y up, z near)."""
    y, p, r = (math.radians(a) for a in (yaw, pitch, roll))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    result: Array = ry @ rx @ rz
    return result


def angles(matrix: Array) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a rotation built as :func:`rotation` does."""
    pitch = math.asin(max(-1.0, min(1.0, -float(matrix[1, 2]))))
    yaw = math.atan2(float(matrix[0, 2]), float(matrix[2, 2]))
    roll = math.atan2(float(matrix[1, 0]), float(matrix[1, 1]))
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


class PoseEstimator:
    """Fits meshes to one canonical face; cheap (a 3x3 SVD per call)."""

    def __init__(self, canonical: CanonicalFace) -> None:
        self.canonical = canonical
        self._index = canonical.basis
        weights = canonical.weights / canonical.weights.sum()
        self._weights = weights[:, None]
        reference = canonical.vertices[canonical.basis]
        self._ref_mean = (reference * self._weights).sum(axis=0)
        self._ref = reference - self._ref_mean
        self._ref_var = float((self._weights[:, 0] * (self._ref**2).sum(axis=1)).sum())

    def estimate(self, mesh: Array) -> HeadPose:
        """Pose of one mesh, (468, 3) in image pixels as the landmark model gives it."""
        matrix, scale, residual, centred = self._procrustes(mesh)
        _, pitch, roll = angles(matrix)
        yaw = self._yaw_2d(centred[:, :2])
        return HeadPose(yaw, pitch, roll, scale, residual)

    def rotation_3d(self, mesh: Array) -> Array:
        """The rotation of the 3-D fit alone (camera frame): the frame the mesh's
        own shape defines, used to turn a reconstructed head to frontal."""
        return self._procrustes(mesh)[0]

    def _procrustes(self, mesh: Array) -> tuple[Array, float, float, Array]:
        points = mesh[self._index, :3] * _TO_CAMERA
        mean = (points * self._weights).sum(axis=0)
        centred = points - mean
        covariance = (centred * self._weights).T @ self._ref
        u, sigma, vt = np.linalg.svd(covariance)
        sign = np.sign(np.linalg.det(u @ vt)) or 1.0
        fix = np.array([1.0, 1.0, sign])
        matrix = (u * fix) @ vt
        scale = float((sigma * fix).sum()) / max(self._ref_var, 1e-12)
        fitted = scale * self._ref @ matrix.T
        error = ((centred - fitted) ** 2).sum(axis=1)
        residual = math.sqrt(float((self._weights[:, 0] * error).sum())) / max(scale, 1e-9)
        return matrix, scale, residual, centred

    def _yaw_2d(self, centred_xy: Array) -> float:
        """Yaw of the nearest scaled rotation to the weighted affine camera fit."""
        root = np.sqrt(self._weights)
        affine, *_ = np.linalg.lstsq(self._ref * root, centred_xy * root, rcond=None)
        u, _, vt = np.linalg.svd(affine.T, full_matrices=False)
        rows = u @ vt
        matrix = np.vstack([rows, np.cross(rows[0], rows[1])])
        return angles(matrix)[0]
