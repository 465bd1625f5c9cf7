"""Face detection, the 468-point face mesh, the irises and the head pose.

Detection runs mediapipe's ``FaceDetector`` (Tasks API): the BlazeFace
short-range model on preview frames (fast), the full-range model once per full
check (it also finds small faces in the background, which the short-range
model misses). mediapipe 1.x's ``FaceLandmarker`` only accepts the newer
``.task`` bundle, which no registry package ships, so the mesh model
(mediapipe's own legacy ``face_landmark.tflite``) runs through OpenCV's
TFLite importer, fed the same region of interest that
mediapipe's face-landmark graph computes: the detection box, squared, scaled
by 1.5 and rotated so that the eyes lie level.

All coordinates returned are pixels of the input image; mesh ``z`` is in the
same unit (mediapipe: "roughly the same scale as x"). Every landmark set
carries its head pose: the geometric fit (:mod:`appliance.face.pose`),
refined by reading the face again turned back to frontal
(:mod:`appliance.face.frontal`: two more mesh runs on rendered 192-px crops).

The iris of each eye is placed from the mesh: the centre of the eye opening's
contour, radius a fifth of the eye's corner-to-corner width (iris diameter
about 11.7 mm, eye opening about 29 mm). A separate iris model (mediapipe's
``iris_landmark.tflite``) would cost two more network runs, more than the
whole budget of the checks, for the one measure that uses the iris (the pupil
darkness that tells a closed eye from an open one); on the test portraits the
mesh's disc separates them as well (open 0.17-0.30 x skin lightness, closed
0.94; limit 0.7). ICAO photos look at the camera, so the iris sits in the
middle of the opening.

Speed: colour conversion and resampling touch only what a model sees (the
192-px mesh crop, a detector- or segmenter-sized copy
of the frame), never a full-resolution copy.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from appliance.face.canonical import load_canonical
from appliance.face.frontal import Frontaliser, refine
from appliance.face.models import model_path
from appliance.face.pose import HeadPose, PoseEstimator

Array = npt.NDArray[Any]


logger = logging.getLogger(__name__)

MESH_INPUT = 192
DETECT_MAX_SIDE = 320  # frames are reduced to this before detection (models see 128/192)
SEGMENT_MAX_SIDE = 256  # the selfie segmenter sees 256 x 256
# Mesh indices (mediapipe canonical face mesh). "right" is the subject's right,
# on the viewer's left.
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (362, 263)
RIGHT_EYE_LIDS = ((159, 145), (158, 153), (160, 144))
LEFT_EYE_LIDS = ((386, 374), (385, 380), (387, 373))
INNER_LIP_PAIRS = ((82, 87), (13, 14), (312, 317))
MOUTH_CORNERS = (61, 291)
CHIN = 152
FOREHEAD = 10
NOSE_TIP = 1
CHEEK_RIGHT, CHEEK_LEFT = 234, 454
RIGHT_EYE_CONTOUR = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE_CONTOUR = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
OUTER_LIPS = (
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
)  # fmt: skip
RIGHT_BROW = (70, 63, 105, 66, 107)
LEFT_BROW = (336, 296, 334, 293, 300)


@dataclass(frozen=True)
class FaceBox:
    """One detected face: box in pixels, confidence, and the eye keypoints."""

    x: float
    y: float
    width: float
    height: float
    score: float
    right_eye: tuple[float, float]
    left_eye: tuple[float, float]

    @property
    def area(self) -> float:
        return self.width * self.height


@dataclass(frozen=True, eq=False)
class FaceLandmarks:
    """The mesh of one face, in image pixels, and its pose-normalised copy."""

    mesh: Array  # (468, 3) x, y, z in image pixels
    upright: Array  # (468, 3) in the roll-corrected crop frame (crop pixels)
    right_iris: tuple[float, float, float] | None  # x, y, radius
    left_iris: tuple[float, float, float] | None
    pose: HeadPose | None = None

    def shifted(self, dx: float, dy: float, scale: float = 1.0) -> FaceLandmarks:
        """The same landmarks in a crop whose origin is (dx, dy) of this image,
        resampled by ``scale``."""
        mesh = self.mesh.copy()
        mesh[:, 0] -= dx
        mesh[:, 1] -= dy
        mesh *= scale
        irises = [
            None
            if iris is None
            else ((iris[0] - dx) * scale, (iris[1] - dy) * scale, iris[2] * scale)
            for iris in (self.right_iris, self.left_iris)
        ]
        return FaceLandmarks(mesh, self.upright, irises[0], irises[1], self.pose)

    def point(self, index: int) -> Array:
        return self.mesh[index, :2]

    @functools.cached_property
    def right_eye_centre(self) -> Array:
        return (self.point(RIGHT_EYE_CORNERS[0]) + self.point(RIGHT_EYE_CORNERS[1])) / 2

    @functools.cached_property
    def left_eye_centre(self) -> Array:
        return (self.point(LEFT_EYE_CORNERS[0]) + self.point(LEFT_EYE_CORNERS[1])) / 2

    @functools.cached_property
    def eye_midpoint(self) -> Array:
        return (self.right_eye_centre + self.left_eye_centre) / 2

    @functools.cached_property
    def inter_eye_distance(self) -> float:
        return float(np.linalg.norm(self.left_eye_centre - self.right_eye_centre))

    @functools.cached_property
    def t_metric(self) -> float:
        """OFIQ's T: distance from the eye midpoint to the chin."""
        return float(np.linalg.norm(self.point(CHIN) - self.eye_midpoint))

    def polygon(self, indices: tuple[int, ...]) -> Array:
        return np.round(self.mesh[list(indices), :2]).astype(np.int32)


def _roi_transform(cx: float, cy: float, size: float, rotation: float, out: int) -> Array:
    """Affine map from image pixels to an ``out``-square crop (mediapipe ROI)."""
    c, s = math.cos(rotation), math.sin(rotation)
    corners = [
        (cx + (u * c - v * s) * size, cy + (u * s + v * c) * size)
        for u, v in ((-0.5, -0.5), (0.5, -0.5), (-0.5, 0.5))
    ]
    target = np.array([(0, 0), (out, 0), (0, out)], dtype=np.float32)
    source = np.array(corners, dtype=np.float32)
    matrix: Array = cv2.getAffineTransform(source, target)
    return matrix


def _to_image(points: Array, matrix: Array) -> Array:
    inverse = cv2.invertAffineTransform(matrix)
    result = points.copy()
    result[:, :2] = points[:, :2] @ inverse[:, :2].T + inverse[:, 2]
    scale = math.hypot(inverse[0, 0], inverse[1, 0])
    if result.shape[1] > 2:
        result[:, 2] = points[:, 2] * scale
    return result


def _mediapipe_tasks() -> tuple[Any, Any]:
    """mediapipe's ``BaseOptions`` and ``vision`` (imported on first use: ~1 s).

    mediapipe's audio module keeps the error of its optional ``sounddevice`` import
    (no PortAudio on a kiosk) in a module global. That error's traceback holds every
    frame of whoever imported mediapipe first, with their locals: here the application
    being started, which would then never be released. The traceback is dropped once
    the import is done (the error itself, raised only by audio recording, stays).
    """
    from mediapipe.tasks.python import BaseOptions, vision
    from mediapipe.tasks.python.audio.core import audio_record

    error = getattr(audio_record, "sd_error", None)
    if isinstance(error, BaseException):
        error.__traceback__ = None
    return BaseOptions, vision


class FaceModels:
    """The loaded models. Not thread-safe per instance; calls are serialised."""

    def __init__(self, directory: Path | None = None, *, min_confidence: float = 0.5) -> None:
        BaseOptions, vision = _mediapipe_tasks()

        def detector(name: str) -> Any:
            options = vision.FaceDetectorOptions(
                base_options=BaseOptions(model_asset_path=str(model_path(name, directory))),
                min_detection_confidence=min_confidence,
            )
            return vision.FaceDetector.create_from_options(options)

        self.pose = PoseEstimator(load_canonical(directory))
        self._frontaliser = Frontaliser(self.pose.canonical.triangles)
        self._detector = detector("face_detection_short_range.tflite")
        self._tasks: list[Any] = [self._detector]
        # mediapipe's own __del__ fails at interpreter exit (its C bindings are
        # gone by then); release the tasks while the interpreter is still whole.
        self._finalizer = weakref.finalize(self, _release, self._tasks)
        self._full_range = detector("face_detection_full_range_sparse.tflite")
        self._tasks.append(self._full_range)
        self._mesh = cv2.dnn.readNetFromTFLite(str(model_path("face_landmark.tflite", directory)))
        self._directory = directory
        self._segmenter: Any = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._finalizer()

    # ------------------------------------------------------------------ detection

    def detect(self, bgr: Array, pyramid: Pyramid | None = None) -> list[FaceBox]:
        """Faces found by the short-range model (preview frames), largest first."""
        return self._run_detector(self._detector, bgr, pyramid)

    def detect_all(self, bgr: Array, pyramid: Pyramid | None = None) -> list[FaceBox]:
        """Faces found by the full-range model, small ones too; largest first."""
        return self._run_detector(self._full_range, bgr, pyramid)

    def _run_detector(self, task: Any, bgr: Array, pyramid: Pyramid | None) -> list[FaceBox]:
        import mediapipe as mp

        height, width = bgr.shape[:2]
        scale = min(1.0, DETECT_MAX_SIDE / max(height, width))
        small = bgr if scale >= 1.0 else (pyramid or Pyramid(bgr)).shrink(scale)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        with self._lock:
            result = task.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        faces = []
        for detection in result.detections:
            score = float(detection.categories[0].score)
            box = detection.bounding_box
            keypoints = detection.keypoints
            faces.append(
                FaceBox(
                    float(box.origin_x) / scale,
                    float(box.origin_y) / scale,
                    float(box.width) / scale,
                    float(box.height) / scale,
                    score,
                    (keypoints[0].x * width, keypoints[0].y * height),
                    (keypoints[1].x * width, keypoints[1].y * height),
                )
            )
        return sorted(faces, key=lambda face: face.area, reverse=True)

    # ------------------------------------------------------------------ landmarks

    def landmarks(self, bgr: Array, face: FaceBox, *, iris: bool = True) -> FaceLandmarks:
        (rx, ry), (lx, ly) = face.right_eye, face.left_eye
        rotation = -math.atan2(-(ly - ry), lx - rx)
        cx, cy = face.x + face.width / 2, face.y + face.height / 2
        size = max(face.width, face.height) * 1.5
        matrix = _roi_transform(cx, cy, size, rotation, MESH_INPUT)
        raw = self._run_mesh(cv2.warpAffine(bgr, matrix, (MESH_INPUT, MESH_INPUT)))
        mesh = _to_image(raw, matrix)
        right = left = None
        if iris:
            right = _iris_from_mesh(mesh, RIGHT_EYE_CONTOUR, RIGHT_EYE_CORNERS)
            left = _iris_from_mesh(mesh, LEFT_EYE_CONTOUR, LEFT_EYE_CORNERS)
        return FaceLandmarks(mesh, raw, right, left, self.refined_pose(bgr, mesh))

    def refined_pose(self, bgr: Array, mesh: Array) -> HeadPose:
        """The pose of ``mesh`` (read on ``bgr``), refined on the frontalised face."""
        first = self.pose.estimate(mesh)
        return refine(
            first, bgr, mesh, self._frontaliser, self._run_mesh, self.pose.estimate, MESH_INPUT
        )

    def _run_mesh(self, crop: Array) -> Array:
        """The mesh model on one ``MESH_INPUT``-square BGR crop: (468, 3) crop pixels."""
        blob = _blob(crop)
        with self._lock:
            self._mesh.setInput(blob)
            return np.asarray(self._mesh.forward(), dtype=np.float64).reshape(468, 3)

    # --------------------------------------------------------------- segmentation

    def person_mask(self, bgr: Array) -> Array:
        """Probability (0..1) that each pixel belongs to the person.

        The segmenter sees a copy of at most 256 px a side; the mask returned
        has that copy's size (callers resample it to the scale they work at).
        """
        import mediapipe as mp

        height, width = bgr.shape[:2]
        scale = min(1.0, SEGMENT_MAX_SIDE / max(height, width))
        small = bgr if scale >= 1.0 else Pyramid(bgr).shrink(scale)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        with self._lock:
            segmenter = self._segmenter_task()
            result = segmenter.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        mask = np.asarray(result.confidence_masks[-1].numpy_view(), dtype=np.float32)
        if mask.ndim == 3:
            mask = mask[:, :, 0]
        return mask

    def _segmenter_task(self) -> Any:
        if self._segmenter is None:
            BaseOptions, vision = _mediapipe_tasks()

            options = vision.ImageSegmenterOptions(
                base_options=BaseOptions(
                    model_asset_path=str(model_path("selfie_segmentation.tflite", self._directory))
                ),
                output_confidence_masks=True,
                output_category_mask=False,
            )
            self._segmenter = vision.ImageSegmenter.create_from_options(options)
            self._tasks.append(self._segmenter)
        return self._segmenter

    def warm_up(self) -> None:
        """Load every model and run each once on a synthetic input."""
        grey = np.full((240, 320, 3), 128, np.uint8)
        self.detect(grey)
        self.detect_all(grey)
        self.person_mask(grey)
        box = FaceBox(110.0, 70.0, 100.0, 100.0, 1.0, (140.0, 100.0), (180.0, 100.0))
        self.landmarks(grey, box, iris=True)


class Pyramid:
    """One frame and its ``pyrDown`` halvings, made on demand and shared by the
    stages that each want a reduced copy (detection, background, segmentation)."""

    def __init__(self, image: Array) -> None:
        self.image = image
        self._levels: list[Array] = [image]

    def shrink(self, scale: float) -> Array:
        """The frame reduced by ``scale`` (<= 1): the nearest halving, then bilinear."""
        width = max(1, round(self.image.shape[1] * scale))
        height = max(1, round(self.image.shape[0] * scale))
        level = 0
        while True:
            current = self._level(level)
            if current.shape[1] < 2 * width or current.shape[0] < 2 * height:
                break
            level += 1
        if current.shape[1] == width and current.shape[0] == height:
            return current
        result: Array = cv2.resize(current, (width, height), interpolation=cv2.INTER_LINEAR)
        return result

    def _level(self, index: int) -> Array:
        while len(self._levels) <= index:
            self._levels.append(cv2.pyrDown(self._levels[-1]))
        return self._levels[index]


def _iris_from_mesh(
    mesh: Array, contour: tuple[int, ...], corners: tuple[int, int]
) -> tuple[float, float, float]:
    """(x, y, radius) of the iris: the eye opening's centre, a fifth of its width."""
    centre = mesh[list(contour), :2].mean(axis=0)
    width = float(np.linalg.norm(mesh[corners[0], :2] - mesh[corners[1], :2]))
    return float(centre[0]), float(centre[1]), 0.2 * width


def _blob(bgr_crop: Array) -> Array:
    """A model input: RGB, 0..1, NCHW."""
    rgb = cv2.cvtColor(bgr_crop, cv2.COLOR_BGR2RGB)
    result: Array = (rgb.astype(np.float32) * (1.0 / 255.0)).transpose(2, 0, 1)[None].copy()
    return result


def _release(tasks: list[Any]) -> None:
    for task in tasks:
        try:
            task.close()
        except Exception:  # at exit its executor may already be shut down
            logger.debug("closing a mediapipe task failed", exc_info=True)
            # Without a handle its __del__ returns at once instead of failing again.
            task._handle = None
    tasks.clear()
