"""A textured 3-D face from one portrait, re-rendered at a known head pose.

The face mesh of a portrait (468 points, x, y in pixels and depth z in the same
unit) and mediapipe's tessellation (the canonical face model's triangles) make
a textured surface whose texture is the portrait itself. Rotating the surface
about its centre and projecting it (orthographic, as the pose fit assumes)
gives a new image of the same face at a known pose: the rendering rasterises
triangle ids back to front (painter's algorithm), maps every covered pixel
back to the portrait through its triangle's barycentric coordinates and
samples it with ``cv2.remap``.

Used by ``bench/face_pose.py`` (pose accuracy on renders with known angles) and
by the face tests (a frontal view of a portrait whose subject lowered the chin).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]
_TO_CAMERA = np.array([1.0, -1.0, -1.0])


# The mesh's face oval, in order around the face (mediapipe's FACEMESH_FACE_OVAL).
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
    377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
# Rings of context around the face (hair, ears, neck, backdrop): radial factors from the
# face centre, and how far back (in face radii) each ring lies behind the oval.
_RINGS = ((1.25, 0.35), (1.6, 0.9), (2.2, 1.6), (3.2, 2.4))


@dataclass(frozen=True)
class TexturedFace:
    texture: Array  # BGR portrait the surface samples
    uv: Array  # (V, 2) texture coordinates of each vertex (portrait pixels)
    vertices: Array  # (V, 3) camera frame (x right, y up, z near), centred, frontal
    triangles: Array  # (T, 3) vertex indices


def reconstruct(
    image: Array, mesh: Array, triangles: Array, source_rotation: Array
) -> TexturedFace:
    """The portrait's head as a surface turned to the frontal pose.

    The face is the mesh itself. Around it, rings of vertices continue the
    surface outwards and backwards (a rounded head: hair, ears, neck, then the
    backdrop), textured from the portrait where they project, so that a
    re-rendered head keeps the context a face detector and the landmark model
    see in real photos. ``source_rotation`` is the head rotation measured on the
    portrait (camera frame); its inverse is applied, so the surface's frame is
    the canonical one.
    """
    points = mesh[:, :3] * _TO_CAMERA
    centre = points.mean(axis=0)
    frontal = (points - centre) @ source_rotation  # R^T applied to each row vector
    oval = np.asarray(FACE_OVAL)
    ring0 = frontal[oval]
    middle = ring0[:, :2].mean(axis=0)
    radius = float(np.linalg.norm(ring0[:, :2] - middle, axis=1).mean())
    vertices = [frontal]
    rings = [oval]
    count = len(frontal)
    for factor, back in _RINGS:
        ring = ring0.copy()
        ring[:, :2] = middle + factor * (ring0[:, :2] - middle)
        ring[:, 2] = ring0[:, 2] - back * radius
        vertices.append(ring)
        rings.append(np.arange(count, count + len(ring)))
        count += len(ring)
    every = np.vstack(vertices)
    # texture coordinates: where each vertex lies in the portrait
    source = every @ source_rotation.T + centre
    uv = np.column_stack([source[:, 0], -source[:, 1]])
    uv[: len(frontal)] = mesh[:, :2]
    strips = []
    for inner, outer in itertools.pairwise(rings):
        nxt = np.roll(np.arange(len(oval)), -1)
        strips.append(np.column_stack([inner, inner[nxt], outer[nxt]]))
        strips.append(np.column_stack([inner, outer[nxt], outer]))
    all_triangles = np.vstack([triangles, *strips]).astype(np.int32)
    return TexturedFace(image, uv, every, all_triangles)


def render(
    face: TexturedFace,
    rotation: Array,
    size: tuple[int, int],
    centre: tuple[float, float],
    scale: float = 1.0,
    background: Array | None = None,
) -> tuple[Array, Array]:
    """(image, coverage mask) of ``face`` turned by ``rotation`` (camera frame).

    ``size`` is (width, height); the surface's centre lands at ``centre`` and
    its size is multiplied by ``scale``.
    """
    width, height = size
    turned = face.vertices @ rotation.T * scale
    image_xy = np.column_stack([turned[:, 0] + centre[0], -turned[:, 1] + centre[1]])
    depth = turned[:, 2]  # larger = nearer
    ids = np.full((height, width), -1, np.int32)
    order = np.argsort(depth[face.triangles].mean(axis=1))  # far first
    corners = np.round(image_xy * 16).astype(np.int32)  # 4 fractional bits
    for index in order:
        tri = face.triangles[index]
        cv2.fillConvexPoly(ids, corners[tri], int(index), cv2.LINE_8, 4)
    ys, xs = np.nonzero(ids >= 0)
    tri = face.triangles[ids[ys, xs]]
    a, b, c = image_xy[tri[:, 0]], image_xy[tri[:, 1]], image_xy[tri[:, 2]]
    p = np.column_stack([xs, ys]).astype(np.float64)
    v0, v1, v2 = b - a, c - a, p - a
    den = v0[:, 0] * v1[:, 1] - v1[:, 0] * v0[:, 1]
    den = np.where(np.abs(den) < 1e-9, 1e-9, den)
    w1 = (v2[:, 0] * v1[:, 1] - v1[:, 0] * v2[:, 1]) / den
    w2 = (v0[:, 0] * v2[:, 1] - v2[:, 0] * v0[:, 1]) / den
    w0 = 1.0 - w1 - w2
    uv = face.uv
    source = w0[:, None] * uv[tri[:, 0]] + w1[:, None] * uv[tri[:, 1]] + w2[:, None] * uv[tri[:, 2]]
    map_x = np.full((height, width), -1.0, np.float32)
    map_y = np.full((height, width), -1.0, np.float32)
    map_x[ys, xs] = source[:, 0]
    map_y[ys, xs] = source[:, 1]
    sampled = cv2.remap(
        face.texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    mask = (ids >= 0).astype(np.float32)
    if background is None:
        background = np.full((height, width, 3), 200, np.uint8)
    soft = cv2.GaussianBlur(mask, (0, 0), 1.0)[..., None]
    out = sampled.astype(np.float32) * soft + background.astype(np.float32) * (1 - soft)
    result: Array = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    return result, mask


# Landmarks whose displacement the simulator's frontal warp keeps: the face oval and
# the eyes, brows, nose and mouth.
FRONTAL_POINTS = tuple(
    sorted(
        set(FACE_OVAL)
        | {1, 4, 6, 13, 14, 33, 50, 61, 105, 133, 145, 159, 168, 199, 205}
        | {263, 280, 291, 334, 362, 374, 386, 425}
    )
)


def frontal_warp(mesh: Array, source_pose: tuple[float, float, float]) -> list[tuple[float, ...]]:
    """(x, y, dx, dy) per kept landmark: where it moves when yaw and pitch are undone.

    The points are turned in 3-D about the mesh centre by the inverse of the
    measured yaw and pitch (roll stays: a simulator rolls the image itself) and
    projected again; ``drivers/sim/portrait.py`` interpolates the displacements
    with a thin-plate spline.
    """
    from appliance.face.pose import rotation

    yaw, pitch, _ = source_pose
    points = mesh[:, :3] * _TO_CAMERA
    centre = points.mean(axis=0)
    frontal = (points - centre) @ rotation(yaw, pitch, 0.0) + centre
    target = np.column_stack([frontal[:, 0], -frontal[:, 1]])
    return [
        (
            round(float(mesh[i, 0]), 1),
            round(float(mesh[i, 1]), 1),
            round(float(target[i, 0] - mesh[i, 0]), 1),
            round(float(target[i, 1] - mesh[i, 1]), 1),
        )
        for i in FRONTAL_POINTS
    ]


def main() -> int:
    """Print the simulator's frontal warp for scikit-image's astronaut portrait."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from skimage import data

    from appliance.face.canonical import load_canonical
    from appliance.face.landmarks import FaceModels
    from appliance.face.pose import PoseEstimator

    image = cv2.cvtColor(np.asarray(data.astronaut()), cv2.COLOR_RGB2BGR)
    models = FaceModels()
    try:
        landmarks = models.landmarks(image, models.detect(image)[0])
    finally:
        models.close()
    pose = PoseEstimator(load_canonical()).estimate(landmarks.mesh)
    print(f"# source pose: yaw {pose.yaw:.1f}, pitch {pose.pitch:.1f}, roll {pose.roll:.1f}")
    for row in frontal_warp(landmarks.mesh, pose.angles):
        print(f"    {row},")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
