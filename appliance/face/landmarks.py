"""Face detection, the 468-point face mesh and iris landmarks.

Detection runs mediapipe's ``FaceDetector`` (Tasks API) on the BlazeFace
short-range model. mediapipe 1.x's ``FaceLandmarker`` only accepts the newer
``.task`` bundle, which no registry package ships, so the mesh and iris models
(mediapipe's own legacy ``face_landmark.tflite`` / ``iris_landmark.tflite``)
run through OpenCV's TFLite importer, fed the same region of interest that
mediapipe's face-landmark graph computes: the detection box, squared, scaled
by 1.5 and rotated so that the eyes lie level.

All coordinates returned are pixels of the input image; mesh ``z`` is in the
same unit (mediapipe: "roughly the same scale as x").
"""

from __future__ import annotations

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

from appliance.face.models import model_path

Array = npt.NDArray[Any]


logger = logging.getLogger(__name__)

MESH_INPUT = 192
# Tiles see fragments of the main face and clothing; only confident extra faces count.
TILE_MIN_SCORE = 0.75
IRIS_INPUT = 64
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
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
    377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
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

    def point(self, index: int) -> Array:
        return self.mesh[index, :2]

    @property
    def right_eye_centre(self) -> Array:
        return (self.point(RIGHT_EYE_CORNERS[0]) + self.point(RIGHT_EYE_CORNERS[1])) / 2

    @property
    def left_eye_centre(self) -> Array:
        return (self.point(LEFT_EYE_CORNERS[0]) + self.point(LEFT_EYE_CORNERS[1])) / 2

    @property
    def eye_midpoint(self) -> Array:
        return (self.right_eye_centre + self.left_eye_centre) / 2

    @property
    def inter_eye_distance(self) -> float:
        return float(np.linalg.norm(self.left_eye_centre - self.right_eye_centre))

    @property
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


class FaceModels:
    """The loaded models. Not thread-safe per instance; calls are serialised."""

    def __init__(self, directory: Path | None = None, *, min_confidence: float = 0.5) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceDetectorOptions(
            base_options=BaseOptions(
                model_asset_path=str(model_path("face_detection_short_range.tflite", directory))
            ),
            min_detection_confidence=min_confidence,
        )
        self._detector = vision.FaceDetector.create_from_options(options)
        self._mesh = cv2.dnn.readNetFromTFLite(str(model_path("face_landmark.tflite", directory)))
        self._iris = cv2.dnn.readNetFromTFLite(str(model_path("iris_landmark.tflite", directory)))
        self._directory = directory
        self._segmenter: Any = None
        self._lock = threading.Lock()
        # mediapipe's own __del__ fails at interpreter exit (its C bindings are
        # gone by then); release the tasks while the interpreter is still whole.
        self._tasks: list[Any] = [self._detector]
        self._finalizer = weakref.finalize(self, _release, self._tasks)

    def close(self) -> None:
        self._finalizer()

    # ------------------------------------------------------------------ detection

    def detect(self, bgr: Array) -> list[FaceBox]:
        import mediapipe as mp

        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        with self._lock:
            result = self._detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        height, width = bgr.shape[:2]
        faces = []
        for detection in result.detections:
            box = detection.bounding_box
            keypoints = detection.keypoints
            faces.append(
                FaceBox(
                    float(box.origin_x),
                    float(box.origin_y),
                    float(box.width),
                    float(box.height),
                    float(detection.categories[0].score),
                    (keypoints[0].x * width, keypoints[0].y * height),
                    (keypoints[1].x * width, keypoints[1].y * height),
                )
            )
        return sorted(faces, key=lambda face: face.area, reverse=True)

    def detect_all(self, bgr: Array) -> list[FaceBox]:
        """Whole image plus overlapping tiles, so that small extra faces are found too.

        Whole-image detections come first and win; a tile adds only faces that
        overlap none of them.
        """
        faces = self.detect(bgr)
        height, width = bgr.shape[:2]
        tile_w, tile_h = int(width * 0.6), int(height * 0.6)
        if min(tile_w, tile_h) < 160:
            return faces
        extra: list[FaceBox] = []
        for ty in (0, height - tile_h):
            for tx in (0, width - tile_w):
                tile = np.ascontiguousarray(bgr[ty : ty + tile_h, tx : tx + tile_w])
                for face in self.detect(tile):
                    if face.score < TILE_MIN_SCORE:
                        continue
                    extra.append(
                        FaceBox(
                            face.x + tx,
                            face.y + ty,
                            face.width,
                            face.height,
                            face.score,
                            (face.right_eye[0] + tx, face.right_eye[1] + ty),
                            (face.left_eye[0] + tx, face.left_eye[1] + ty),
                        )
                    )
        return _merge(faces, extra)

    # ------------------------------------------------------------------ landmarks

    def landmarks(self, bgr: Array, face: FaceBox, *, iris: bool = True) -> FaceLandmarks:
        rgb = bgr[:, :, ::-1]
        (rx, ry), (lx, ly) = face.right_eye, face.left_eye
        rotation = -math.atan2(-(ly - ry), lx - rx)
        cx, cy = face.x + face.width / 2, face.y + face.height / 2
        size = max(face.width, face.height) * 1.5
        matrix = _roi_transform(cx, cy, size, rotation, MESH_INPUT)
        crop = cv2.warpAffine(rgb, matrix, (MESH_INPUT, MESH_INPUT), flags=cv2.INTER_LINEAR)
        blob = (crop.astype(np.float32) / 255.0).transpose(2, 0, 1)[None].copy()
        with self._lock:
            self._mesh.setInput(blob)
            raw = np.asarray(self._mesh.forward(), dtype=np.float64).reshape(468, 3)
        mesh = _to_image(raw, matrix)
        right = left = None
        if iris:
            right = self._iris_of(rgb, mesh, RIGHT_EYE_CORNERS, flip=False)
            left = self._iris_of(rgb, mesh, LEFT_EYE_CORNERS, flip=True)
        return FaceLandmarks(mesh, raw, right, left)

    def _iris_of(
        self, rgb: Array, mesh: Array, corners: tuple[int, int], *, flip: bool
    ) -> tuple[float, float, float] | None:
        a, b = mesh[corners[0], :2], mesh[corners[1], :2]
        width = float(np.linalg.norm(b - a))
        if width < 4:
            return None
        if flip:  # the model is trained on the subject's right eye; mirror the left one
            a, b = b, a
        rotation = math.atan2(b[1] - a[1], b[0] - a[0])
        centre = (a + b) / 2
        matrix = _roi_transform(float(centre[0]), float(centre[1]), width * 2.3, rotation, 64)
        crop = cv2.warpAffine(rgb, matrix, (IRIS_INPUT, IRIS_INPUT), flags=cv2.INTER_LINEAR)
        if flip:
            crop = crop[:, ::-1]
        blob = (crop.astype(np.float32) / 255.0).transpose(2, 0, 1)[None].copy()
        with self._lock:
            self._iris.setInput(blob)
            raw = np.asarray(self._iris.forward(), dtype=np.float64).reshape(5, 3)
        if flip:
            raw[:, 0] = IRIS_INPUT - raw[:, 0]
        points = _to_image(raw, matrix)
        centre_xy = points[0, :2]
        radius = float(np.mean(np.linalg.norm(points[1:, :2] - centre_xy, axis=1)))
        return float(centre_xy[0]), float(centre_xy[1]), radius

    # --------------------------------------------------------------- segmentation

    def person_mask(self, bgr: Array) -> Array:
        """Probability (0..1) that each pixel belongs to the person."""
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        with self._lock:
            if self._segmenter is None:
                options = vision.ImageSegmenterOptions(
                    base_options=BaseOptions(
                        model_asset_path=str(
                            model_path("selfie_segmentation.tflite", self._directory)
                        )
                    ),
                    output_confidence_masks=True,
                    output_category_mask=False,
                )
                self._segmenter = vision.ImageSegmenter.create_from_options(options)
                self._tasks.append(self._segmenter)
            rgb = np.ascontiguousarray(bgr[:, :, ::-1])
            result = self._segmenter.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        mask = np.asarray(result.confidence_masks[-1].numpy_view(), dtype=np.float32)
        if mask.ndim == 3:
            mask = mask[:, :, 0]
        return mask


def _release(tasks: list[Any]) -> None:
    for task in tasks:
        try:
            task.close()
        except Exception:  # at exit its executor may already be shut down
            logger.debug("closing a mediapipe task failed", exc_info=True)
            # Without a handle its __del__ returns at once instead of failing again.
            task._handle = None
    tasks.clear()


def _merge(primary: list[FaceBox], extra: list[FaceBox]) -> list[FaceBox]:
    """Keep ``primary``; add boxes of ``extra`` that overlap nothing kept so far."""
    kept = list(primary)
    for face in sorted(extra, key=lambda f: f.score, reverse=True):
        if all(_overlap(face, other) < 0.3 for other in kept):
            kept.append(face)
    return sorted(kept, key=lambda f: f.area, reverse=True)


def _overlap(a: FaceBox, b: FaceBox) -> float:
    """Intersection over the smaller box's area."""
    ix = max(0.0, min(a.x + a.width, b.x + b.width) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.height, b.y + b.height) - max(a.y, b.y))
    return ix * iy / max(1e-6, min(a.area, b.area))
