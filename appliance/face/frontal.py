"""Head pose refined by reading the face again, turned to frontal.

The mesh model pulls its landmarks towards a frontal face: on heads
re-rendered at known angles its x, y reproduce only 71-87 % of a turn's
parallax, most at combined turns, and it reads a head and its mirror image
differently. It reads a frontal face best. So the pose of the first reading is
refined by analysis by synthesis:

1. the measured mesh becomes a textured surface (the face, then rings of hair,
   ears, neck and backdrop around it, textured from the image itself);
2. the surface is turned back by the current pose estimate and rendered
   straight into the mesh model's 192-px input, framed by mediapipe's own
   landmarks-to-ROI rule (the landmarks' box, squared, scaled by 1.5); the
   side that faced away from the camera, smeared by the turn, takes its
   mirror side's texture (soft symmetry, :func:`fill_from_mirror`);
3. the model reads that frontalised face and its mirror image; what pose the
   two readings still show, averaged (the mirror's yaw and roll turned back),
   is the estimate's residual, and 0.9 of it is applied. The model reads a
   head and its mirror image differently, and the mean cancels that
   left-right bias.

No offset or gain is fitted to any face. One step is taken, because each step
costs a 192-px rasterisation and two mesh runs (about 8 ms of the full check's
25 ms budget on one core). Measured on the bench's grid (four portraits, 25
poses each, ``bench/face_pose.py``) and checked on 240 random poses of six
portraits: two damped steps (0.5 each, the second mirror-averaged, the head's
geometry rebuilt from the model's frontal reading between them) erred less
(largest errors 4.65 / 3.46 / 2.10 degrees against 5.66 / 3.96 / 2.41) but
took the full check to 30 ms; one step of 0.6, 0.75 or 0.8 erred more than
0.9, and one step of 1.0 overshot on yaw. The soft-symmetry thresholds were
chosen the same way. ``bench/face_pose.py`` measures what the refinement gains on
renders with known angles (``direct_fit`` is the first reading alone), and
``bench/face.py`` what it costs (``of_which_pose_refinement``).

The rasteriser is shared with the bench's renderer (``bench/face_render.py``):
triangles are drawn back to front as ids, and each covered pixel maps to the
source image through its triangle's affine map (``cv2.remap``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from appliance.face.canonical import FACE_OVAL, VERTICES
from appliance.face.pose import HeadPose, angles, rotation

Array = npt.NDArray[Any]

# Rings of context around the face (hair, ears, neck, backdrop): radial factors from the
# face centre, and how far back (in face radii) each ring lies behind the oval.
RINGS = ((1.25, 0.35), (1.6, 0.9), (2.2, 1.6), (3.2, 2.4))
ROI_SCALE = 1.5  # mediapipe's face-landmark ROI: the landmarks' box, squared, x 1.5
STEP = 0.9  # share of the residual applied
SEEN_POOR, SEEN_WELL = 0.1, 0.5  # share of the median resolution: mirror in fully, not at all
REFINED_WITHIN_DEG = 30.0  # beyond this the direct reading stands (the face fails pose anyway)
_OUTSIDE = -1.0e4  # a source coordinate that samples the border colour
BORDER = 200  # grey where nothing is drawn (as the bench's renders)

_TO_CAMERA = np.array([1.0, -1.0, -1.0])  # image (x right, y down, z away) -> y up, z near
_MIRROR = np.array([-1.0, 1.0, -1.0])  # a mirror image turns yaw and roll the other way


@dataclass(frozen=True)
class HeadSurface:
    """A face mesh as a surface: vertices turned to frontal, and where each lies in the image."""

    vertices: Array  # (V, 3) camera frame (x right, y up, z near), centred on the mesh
    uv: Array  # (V, 2) source image pixels of each vertex
    triangles: Array  # (T, 3) vertex indices


class Raster(NamedTuple):
    """Where each target pixel samples the source, for ``cv2.remap``."""

    map_x: Array  # float32 source x (outside any image where nothing is drawn)
    map_y: Array
    covered: Array  # bool: a triangle is drawn here
    area: Array  # float32 source pixels per target pixel (the map's Jacobian)


class Frontaliser:
    """Builds head surfaces on one tessellation and renders them frontal."""

    def __init__(self, face_triangles: Array, points: int = VERTICES) -> None:
        oval = np.asarray(FACE_OVAL)
        rings = [oval] + [
            np.arange(points + k * len(oval), points + (k + 1) * len(oval))
            for k in range(len(RINGS))
        ]
        following = np.roll(np.arange(len(oval)), -1)
        strips = []
        for inner, outer in itertools.pairwise(rings):
            strips.append(np.column_stack([inner, inner[following], outer[following]]))
            strips.append(np.column_stack([inner, outer[following], outer]))
        self.triangles = np.vstack([face_triangles, *strips]).astype(np.int32)
        self.points = points

    def surface(self, mesh: Array, turn: Array) -> HeadSurface:
        """The head of ``mesh`` (image pixels) turned back by ``turn`` (camera frame)."""
        points = mesh[:, :3] * _TO_CAMERA
        centre = points.mean(axis=0)
        frontal = (points - centre) @ turn  # turn^T applied to each row vector
        ring0 = frontal[np.asarray(FACE_OVAL)]
        middle = ring0[:, :2].mean(axis=0)
        radius = float(np.linalg.norm(ring0[:, :2] - middle, axis=1).mean())
        vertices = [frontal]
        for factor, back in RINGS:
            ring = ring0.copy()
            ring[:, :2] = middle + factor * (ring0[:, :2] - middle)
            ring[:, 2] = ring0[:, 2] - back * radius
            vertices.append(ring)
        every = np.vstack(vertices)
        source = every @ turn.T + centre
        uv = np.column_stack([source[:, 0], -source[:, 1]])
        uv[: self.points] = mesh[:, :2]
        return HeadSurface(every, uv, self.triangles)

    def frontal_crop(self, image: Array, mesh: Array, turn: Array, side: int) -> Array | None:
        """The face turned back by ``turn``, framed as the mesh model expects: a
        ``side``-square BGR crop (or None for a degenerate mesh)."""
        head = self.surface(mesh, turn)
        face = head.vertices[: self.points]
        low, high = face[:, :2].min(axis=0), face[:, :2].max(axis=0)
        extent = float((high - low).max()) * ROI_SCALE
        if not math.isfinite(extent) or extent < 2.0:
            return None
        middle = (low + high) / 2
        k = side / extent
        xy = (
            np.column_stack(
                [(head.vertices[:, 0] - middle[0]) * k, (middle[1] - head.vertices[:, 1]) * k]
            )
            + side / 2
        )
        raster = rasterise(xy, head.vertices[:, 2], head.uv, head.triangles, side, side)
        crop: Array = cv2.remap(
            image, raster.map_x, raster.map_y, cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=(BORDER, BORDER, BORDER),
        )  # fmt: skip
        midline = float(xy[: self.points, 0].mean())  # the symmetric mesh's own midline
        return fill_from_mirror(crop, raster, midline)


def fill_from_mirror(crop: Array, raster: Raster, midline: float) -> Array:
    """Soft symmetry (Hassner et al., "Effective face frontalization", CVPR 2015).

    Turned back to frontal, the side of the head that faced away from the
    camera is smeared: its pixels come from a sliver of the image. Where a
    pixel's source was seen at under ``SEEN_WELL`` of the crop's median
    resolution and its mirror pixel (about the face's midline) was seen
    better, the mirror's texture is blended in, fully below ``SEEN_POOR``.
    Where both sides were seen well (a near-frontal face) the crop is
    unchanged, so the residual turn it shows is not averaged away.
    """
    height, width = crop.shape[:2]
    covered = raster.covered
    if not covered.any():
        return crop
    area = np.where(covered, raster.area, 0.0).astype(np.float32)
    typical = max(float(np.median(area[covered])), 1e-9)
    seen = cv2.GaussianBlur(np.minimum(area / typical, 1.0), (0, 0), 2.0)
    flip = np.array([[-1.0, 0.0, 2.0 * midline], [0.0, 1.0, 0.0]], np.float32)
    seen_there = cv2.warpAffine(seen, flip, (width, height))
    mirrored = cv2.warpAffine(
        crop, flip, (width, height), borderMode=cv2.BORDER_CONSTANT,
        borderValue=(BORDER, BORDER, BORDER),
    )  # fmt: skip
    span = SEEN_WELL - SEEN_POOR
    here = np.clip((seen - SEEN_POOR) / span, 0.0, 1.0)
    there = np.clip((seen_there - SEEN_POOR) / span, 0.0, 1.0)
    keep = np.maximum(here, 1.0 - there)[..., None]
    blended = crop.astype(np.float32) * keep + mirrored.astype(np.float32) * (1.0 - keep)
    result: Array = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return result


def refine(
    first: HeadPose,
    image: Array,
    mesh: Array,
    frontaliser: Frontaliser,
    run_mesh: Callable[[Array], Array],
    estimate: Callable[[Array], HeadPose],
    side: int,
) -> HeadPose:
    """``first`` refined by re-reading the frontalised face (module docstring).

    ``run_mesh`` runs the mesh model on a ``side``-px crop (a (468, 3) mesh in
    crop pixels); ``estimate`` fits a mesh's pose.
    """
    if max(abs(a) for a in first.angles) > REFINED_WITHIN_DEG:
        return first
    turn = rotation(*first.angles)
    crop = frontaliser.frontal_crop(image, mesh, turn, side)
    if crop is None:
        return first
    seen = np.array(estimate(run_mesh(crop)).angles)
    mirrored = np.array(estimate(run_mesh(np.ascontiguousarray(crop[:, ::-1]))).angles)
    residual = (seen + mirrored * _MIRROR) / 2
    if not np.isfinite(residual).all():
        return first
    yaw, pitch, roll = angles(turn @ rotation(*(STEP * residual)))
    return replace(first, yaw=yaw, pitch=pitch, roll=roll)


def rasterise(
    xy: Array, depth: Array, uv: Array, triangles: Array, width: int, height: int
) -> Raster:
    """Each target pixel's source point, through the nearest triangle's affine map.

    ``xy`` are the vertices' target pixels, ``depth`` larger = nearer (triangles
    are drawn far first), ``uv`` their source pixels. Uncovered pixels map
    outside any image (the border colour).
    """
    ids = np.full((height, width), -1, np.int32)
    order = np.argsort(depth[triangles].mean(axis=1))
    corners = np.round(xy * 16).astype(np.int32)[triangles[order]]  # 4 fractional bits
    for k, index in enumerate(order.tolist()):
        cv2.fillConvexPoly(ids, corners[k], index, cv2.LINE_8, 4)
    a, b, c = xy[triangles[:, 0]], xy[triangles[:, 1]], xy[triangles[:, 2]]
    e0, e1 = b - a, c - a
    den = e0[:, 0] * e1[:, 1] - e1[:, 0] * e0[:, 1]
    den = np.where(np.abs(den) < 1e-9, 1e-9, den)
    # barycentric weights as affine functions of the pixel (x, y)
    w1 = np.column_stack([e1[:, 1], -e1[:, 0]]) / den[:, None]
    w2 = np.column_stack([-e0[:, 1], e0[:, 0]]) / den[:, None]
    w1c, w2c = -(a * w1).sum(axis=1), -(a * w2).sum(axis=1)
    ua = uv[triangles[:, 0]]
    d1, d2 = uv[triangles[:, 1]] - ua, uv[triangles[:, 2]] - ua
    # source = ua + w1 d1 + w2 d2 = gx * x + gy * y + g0, per triangle
    gx = d1 * w1[:, :1] + d2 * w2[:, :1]
    gy = d1 * w1[:, 1:] + d2 * w2[:, 1:]
    g0 = ua + d1 * w1c[:, None] + d2 * w2c[:, None]
    table = np.vstack([np.hstack([gx, gy, g0]), [[0.0, 0.0, 0.0, 0.0, _OUTSIDE, _OUTSIDE]]]).astype(
        np.float32
    )
    coefficients = table[ids]  # id -1 picks the last row: outside
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    map_x = coefficients[..., 0] * xs + coefficients[..., 2] * ys + coefficients[..., 4]
    map_y = coefficients[..., 1] * xs + coefficients[..., 3] * ys + coefficients[..., 5]
    area = np.abs(
        coefficients[..., 0] * coefficients[..., 3] - coefficients[..., 1] * coefficients[..., 2]
    )
    return Raster(map_x, map_y, ids >= 0, area)
