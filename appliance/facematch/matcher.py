"""1:1 face comparison with dlib's ResNet face descriptor.

Each face is found by dlib's HOG frontal-face detector, aligned by the 5-point
landmark model and embedded as a 128-D descriptor; the score is the Euclidean
distance between the two descriptors (0 = identical; dlib calibrated its model
so that distances below 0.6 mean "same person" on LFW). The decision threshold
comes from the config (``documents.chip.face_match_threshold``) and was set
from the measured genuine and impostor distributions (``bench/facematch.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from appliance.facematch.models import model_path

logger = logging.getLogger(__name__)

#: Distance threshold measured by bench/facematch.py (see docs/chip-and-face-match.md).
DEFAULT_THRESHOLD = 0.55
_MAX_SIDE = 800  # larger images are scaled down to this before detection


class NoFaceFound(ValueError):
    """One of the two images shows no detectable face."""

    def __init__(self, which: str) -> None:
        super().__init__(f"no face found in the {which} image")
        self.which = which


@dataclass(frozen=True)
class MatchResult:
    """The outcome of one comparison (what the manifest and the operator see)."""

    distance: float
    threshold: float
    ms: float

    @property
    def match(self) -> bool:
        return self.distance <= self.threshold

    def manifest(self) -> dict[str, Any]:
        return {
            "face_match.model": "dlib_face_recognition_resnet_model_v1",
            "face_match.distance": round(self.distance, 4),
            "face_match.threshold": self.threshold,
            "face_match.decision": "match" if self.match else "no_match",
        }


class FaceMatcher:
    """Loads the models once (fail closed when missing) and compares pairs of images."""

    def __init__(self, models: Path | None = None, threshold: float = DEFAULT_THRESHOLD) -> None:
        import dlib

        self.threshold = threshold
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(
            str(model_path("shape_predictor_5_face_landmarks.dat", models))
        )
        self._net = dlib.face_recognition_model_v1(
            str(model_path("dlib_face_recognition_resnet_model_v1.dat", models))
        )
        self._lock = threading.Lock()  # dlib objects are not documented thread-safe

    def embed(self, bgr: npt.NDArray[np.uint8], which: str = "given") -> npt.NDArray[np.float64]:
        """The 128-D descriptor of the largest face in ``bgr``."""
        scale = min(1.0, _MAX_SIDE / max(bgr.shape[:2]))
        if scale < 1.0:
            bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(
                np.uint8
            )
        rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        with self._lock:
            faces = self._detector(rgb, 1 if max(rgb.shape[:2]) < 500 else 0)
            if len(faces) == 0:
                raise NoFaceFound(which)
            face = max(faces, key=lambda r: r.width() * r.height())
            shape = self._shape(rgb, face)
            descriptor = self._net.compute_face_descriptor(rgb, shape)
        return np.asarray(descriptor, dtype=np.float64)

    def compare(self, document: npt.NDArray[np.uint8], live: npt.NDArray[np.uint8]) -> MatchResult:
        started = time.perf_counter()
        a = self.embed(document, "document")
        b = self.embed(live, "live")
        distance = float(np.linalg.norm(a - b))
        ms = (time.perf_counter() - started) * 1000
        logger.info("face match distance %.3f (threshold %.3f)", distance, self.threshold)
        return MatchResult(distance, self.threshold, ms)


def match_faces(
    matcher: FaceMatcher, document: npt.NDArray[np.uint8], live: npt.NDArray[np.uint8]
) -> MatchResult:
    """Compare the chip portrait with the live capture (both BGR uint8)."""
    return matcher.compare(document, live)
