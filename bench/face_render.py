"""A textured 3-D face from one portrait, re-rendered at a known head pose.

The face mesh of a portrait (468 points, x, y in pixels and depth z in the same
unit) and mediapipe's tessellation (the canonical face model's triangles) make
a textured surface whose texture is the portrait itself. Rotating the surface
about its centre and projecting it (orthographic, as the pose fit assumes)
gives a new image of the same face at a known pose. The surface and its
rasteriser are the engine's own (``appliance/face/frontal.py``, which renders
a face turned back to frontal to refine the pose): triangle ids drawn back to
front (painter's algorithm), every covered pixel mapped back to the portrait
through its triangle's affine map and sampled with ``cv2.remap``.

Used by ``bench/face_pose.py`` (pose accuracy on renders with known angles) and
by the face tests (a frontal view of a portrait whose subject lowered the chin).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.face.canonical import FACE_OVAL
from appliance.face.frontal import Frontaliser, rasterise

Array = npt.NDArray[Any]
_TO_CAMERA = np.array([1.0, -1.0, -1.0])


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
    see in real photos: the surface the engine's own pose refinement renders
    (``appliance/face/frontal.py``). ``source_rotation`` is the head rotation
    measured on the portrait (camera frame); its inverse is applied, so the
    surface's frame is the canonical one.
    """
    head = Frontaliser(triangles).surface(mesh, source_rotation)
    return TexturedFace(image, head.uv, head.vertices, head.triangles)


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
    map_x, map_y, covered, _ = rasterise(
        image_xy, turned[:, 2], face.uv, face.triangles, width, height
    )
    sampled = cv2.remap(
        face.texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    mask = covered.astype(np.float32)
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
