"""Head-pose accuracy on heads re-rendered at known angles: ``python bench/face_pose.py --json``.

For each public portrait (``bench/portraits.py``: four people from three
registry packages) the face mesh is measured, the head is rebuilt as a
textured 3-D surface (``bench/face_render.py``: the mesh, mediapipe's
tessellation, rings of hair/neck context), turned to the frontal pose of its
own 3-D fit to the canonical face, and re-rendered at every yaw x pitch in
{-20, -10, 0, 10, 20} degrees with roll cycling through the same values. The
engine then sees each render as a new photo (detection, mesh, pose) and the
absolute error per axis is reported: mean and maximum per person and overall,
against the goal (mean <= 2, max <= 4 degrees). ``source`` is what the engine
reads on the original photo (the truth there is unknown).

Where the error comes from (``bench/face_pose_diagnosis.py``), overall and per
person: ``error_model`` (signed error per axis as bias + gain x angle + noise),
``landmark_follow`` (the share of a turned head's true 2-D parallax that the
landmark model's x, y reproduce, whatever the pose fit), ``frontal_render_reads``
(the pose read on the frontalised head, which should be 0, 0, 0) and
``rerender_minus_photo`` (the renderer's fidelity: the head re-rendered at the
photo's own orientation, read again, minus the photo's reading).

``mirror_disagreement`` needs no truth at all: each render is also read
mirrored (flipped left to right), the reading mirrored back (yaw and roll
negated) and compared with the render's own. The estimator is exactly
mirror-symmetric (the canonical face and its landmark weights are; a test
checks it), so a perfect landmark model would read both the same; what is
measured is how differently the landmark model reads one head and its mirror
image, a scatter that no pose fit removes. (Averaging the two readings of the
render itself, a flip test-time augmentation, moved the direct fit's means by
about 0.1 degree and made some maxima worse; the engine's refinement averages
them on the frontalised face instead, where it helps.)

``people_meeting_goal`` names the people whose own mean and maximum errors
meet the goal; the issue asks for at least three
(``goal_met_on_three_people``).

``perfect_landmarks`` is the estimator's own floor: the pose read on the
rendered head's mesh itself (every landmark exactly where the turned head puts
it), against the same truth. What remains above it is the landmark model's.

The engine refines each pose by reading the face again, turned back to
frontal (``appliance/face/frontal.py``). ``direct_fit`` is the pose fit on the
first reading alone (what the engine read before), on the same renders, and
``mean_vs_direct_fit`` the ratio. ``within_10deg`` is the error on the renders
turned by at most 10 degrees in yaw and pitch, where a pose check with limits
of a few degrees decides.

A naive baseline in the same run: the pose as the old engine computed it
(yaw from the cheek depth difference, pitch from the forehead-chin depth axis,
roll from the eye line; no calibration offset).

Other portraits (held-out ones, say): ``--image PATH`` (repeatable) adds each
file, named by its stem; a file without a face is reported and left out.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from appliance.face.imageio import ImageReadError, read_image
from appliance.face.landmarks import FaceLandmarks, FaceModels
from appliance.face.pose import rotation
from bench import portraits
from bench.face_pose_diagnosis import LandmarkFollow, axes, error_model
from bench.face_render import reconstruct, render

STEPS = (-20, -10, 0, 10, 20)
SIZE = (640, 800)
CENTRE = (320.0, 380.0)
INTER_EYE = 110.0  # rendered inter-eye distance, pixels (a kiosk portrait)


def grid() -> list[tuple[int, int, int]]:
    return [
        (yaw, pitch, STEPS[(i + j) % len(STEPS)])
        for i, yaw in enumerate(STEPS)
        for j, pitch in enumerate(STEPS)
    ]


def naive_pose(lm: FaceLandmarks) -> tuple[float, float, float]:
    """The previous engine's reading without its calibrated offset."""
    right, left = lm.right_eye_centre, lm.left_eye_centre
    roll = -math.degrees(math.atan2(left[1] - right[1], left[0] - right[0]))
    up = lm.upright
    across = up[454] - up[234]
    yaw = math.degrees(math.atan2(across[2], across[0]))
    down = up[152] - up[10]
    pitch = math.degrees(math.atan2(down[2], down[1]))
    return yaw, pitch, roll


def person(models: FaceModels, image: Any, source: str) -> dict[str, Any]:
    landmarks = _landmarks_on(models, image)
    if landmarks is None:
        return {"source": source, "error": "no face found"}
    assert landmarks.pose is not None
    photo_turn = models.pose.rotation_3d(landmarks.mesh)
    head = reconstruct(image, landmarks.mesh, models.pose.canonical.triangles, photo_turn)
    scale = INTER_EYE / landmarks.inter_eye_distance
    follow = LandmarkFollow()
    errors, naive_errors, direct, perfect, truths, mirror, missed = [], [], [], [], [], [], 0
    for pose in grid():
        turn = rotation(*pose)
        rendered, _ = render(head, turn, SIZE, CENTRE, scale=scale)
        seen = _landmarks_on(models, rendered)
        if seen is None:
            missed += 1
            continue
        assert seen.pose is not None
        truth = np.array(pose, float)
        truths.append(truth)
        errors.append(np.array(seen.pose.angles) - truth)
        naive_errors.append(np.abs(np.array(naive_pose(seen)) - truth))
        direct.append(np.abs(np.array(models.pose.estimate(seen.mesh).angles) - truth))
        follow.add(head.vertices[: len(landmarks.mesh)], turn, seen.mesh)
        exact = _projected_mesh(head.vertices[: len(landmarks.mesh)], turn, scale)
        perfect.append(np.abs(np.array(models.pose.estimate(exact).angles) - truth))
        mirrored = _mirrored_reading(models, rendered)
        if mirrored is not None:
            mirror.append(np.abs(mirrored - np.array(seen.pose.angles)))
    if not errors:
        return {"source": source, "error": "no face found on any render"}
    signed = np.array(errors)
    error = np.abs(signed)
    naive = np.array(naive_errors)
    return {
        "source": source,
        "inter_eye_px": round(landmarks.inter_eye_distance, 1),
        "pose_read_on_photo": [round(a, 1) for a in landmarks.pose.angles],
        "renders": len(errors),
        "renders_without_face": missed,
        "mean_abs_error": axes(error.mean(axis=0)),
        "max_abs_error": axes(error.max(axis=0)),
        "naive_mean_abs_error": axes(naive.mean(axis=0)),
        "direct_fit": _summary(np.array(direct)),
        "within_10deg": _summary(error[_near(np.array(truths))]),
        "perfect_landmarks": _summary(np.array(perfect)),
        "mirror_disagreement": _summary(np.array(mirror)),
        "goal_met": bool((error.mean(axis=0) <= 2.0).all() and (error.max(axis=0) <= 4.0).all()),
        "error_model": error_model(signed, np.array(truths)),
        "landmark_follow": follow.ratio,
        "frontal_render_reads": _reading(models, head, np.eye(3), scale),
        "rerender_minus_photo": axes(
            np.array(_reading(models, head, photo_turn, scale)) - np.array(landmarks.pose.angles)
        ),
        "_errors": error,
        "_signed": signed,
        "_truths": np.array(truths),
        "_naive": naive,
        "_direct": np.array(direct),
        "_perfect": np.array(perfect),
        "_mirror": np.array(mirror),
    }


def _projected_mesh(vertices: Any, turn: Any, scale: float) -> Any:
    """The mesh as a perfect landmark model would read it on the render (image axes)."""
    return (vertices @ turn.T) * scale * _TO_IMAGE


_TO_IMAGE = np.array([1.0, -1.0, -1.0])  # camera frame (y up, z near) -> image (y down, z away)


def _near(truths: Any) -> Any:
    """Renders turned by at most 10 degrees in yaw and pitch: where a pose check
    (limits of a few degrees) decides."""
    return (np.abs(truths[:, :2]) <= 10).all(axis=1)


def _summary(error: Any) -> dict[str, dict[str, float]]:
    return {"mean_abs_error": axes(error.mean(axis=0)), "max_abs_error": axes(error.max(axis=0))}


def _reading(models: FaceModels, head: Any, turn: Any, scale: float) -> list[float]:
    """The pose the engine reads on ``head`` rendered at rotation ``turn``."""
    rendered, _ = render(head, turn, SIZE, CENTRE, scale=scale)
    seen = _landmarks_on(models, rendered)
    assert seen is not None and seen.pose is not None
    return [round(a, 2) for a in seen.pose.angles]


def _mirrored_reading(models: FaceModels, rendered: Any) -> Any:
    """The pose read on the render flipped left to right, mirrored back (or None)."""
    seen = _landmarks_on(models, np.ascontiguousarray(rendered[:, ::-1]))
    if seen is None:
        return None
    assert seen.pose is not None
    return np.array(seen.pose.angles) * _MIRROR


def _landmarks_on(models: FaceModels, image: Any) -> FaceLandmarks | None:
    """The largest face's mesh (and pose) on ``image``, as the engine reads a photo."""
    found = models.detect(image)
    return models.landmarks(image, found[0], iris=False) if found else None


_MIRROR = np.array([-1.0, 1.0, -1.0])  # a mirror image turns yaw and roll the other way


def _images(paths: list[str]) -> dict[str, tuple[Any, str]]:
    """Portraits named on the command line, by file stem (made unique)."""
    found: dict[str, tuple[Any, str]] = {}
    for text in paths:
        path = Path(text)
        try:
            image = read_image(path)
        except ImageReadError as exc:
            raise SystemExit(f"face_pose: {path}: {exc}") from None
        name, n = path.stem, 2
        while name in found:
            name, n = f"{path.stem}-{n}", n + 1
        found[name] = (image, str(path))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--people", nargs="*", default=None, choices=portraits.NAMES)
    parser.add_argument("--image", action="append", default=[], metavar="PATH")
    args = parser.parse_args()
    started = time.perf_counter()
    names = args.people if args.people is not None else ([] if args.image else portraits.NAMES)
    inputs = {name: (portraits.load(name), portraits.SOURCES[name]) for name in names}
    inputs.update(_images(args.image))
    models = FaceModels()
    try:
        readings = {name: person(models, image, source) for name, (image, source) in inputs.items()}
    finally:
        models.close()
    people = {name: p for name, p in readings.items() if "error" not in p}
    if not people:
        raise SystemExit("face_pose: no portrait with a face to measure")
    everything = np.vstack([p.pop("_errors") for p in people.values()])
    signed = np.vstack([p.pop("_signed") for p in people.values()])
    truths = np.vstack([p.pop("_truths") for p in people.values()])
    naive = np.vstack([p.pop("_naive") for p in people.values()])
    direct = np.vstack([p.pop("_direct") for p in people.values()])
    perfect = np.vstack([p.pop("_perfect") for p in people.values()])
    mirror = np.vstack([p.pop("_mirror") for p in people.values()])
    mean, worst = everything.mean(axis=0), everything.max(axis=0)
    figures = {
        "people": len(people),
        "renders": int(everything.shape[0]),
        "range_deg": [min(STEPS), max(STEPS)],
        "mean_abs_error": axes(mean),
        "max_abs_error": axes(worst),
        "goal_mean_2deg_met": bool((mean <= 2.0).all()),
        "goal_max_4deg_met": bool((worst <= 4.0).all()),
        "people_meeting_goal": [name for name, p in people.items() if p["goal_met"]],
        "goal_met_on_three_people": sum(p["goal_met"] for p in people.values()) >= 3,
        "naive_mean_abs_error": axes(naive.mean(axis=0)),
        "naive_max_abs_error": axes(naive.max(axis=0)),
        "mean_vs_naive": axes(mean / np.maximum(naive.mean(axis=0), 1e-9)),
        "direct_fit": _summary(direct),
        "mean_vs_direct_fit": axes(mean / np.maximum(direct.mean(axis=0), 1e-9)),
        "within_10deg": _summary(everything[_near(truths)]),
        "perfect_landmarks": _summary(perfect),
        "mirror_disagreement": _summary(mirror),
        "error_model": error_model(signed, truths),
        "per_person": readings,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
