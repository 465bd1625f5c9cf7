"""Live guidance on preview frames and auto-capture.

The fast path runs per preview frame: face detection, the face mesh (no iris,
no segmentation) and the checks an applicant can fix by moving or changing
something, measured on the face's neighbourhood only. It yields prompts as
message keys that the UI translates (``face.move_closer``, ...), ordered by
what to fix first.

:class:`AutoCapture` keeps the best frame of a run of compliant frames and,
after ``frames`` consecutive ones, hands it to the capture service for the full
check; if that check fails the run starts again and the prompts say why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from appliance.config.quality import FaceQualityThresholds
from appliance.face import geometry, occlusion, photometry, sharpness
from appliance.face.engine import APPEARANCE_INTER_EYE, PhotoQualityEngine, PhotoReport
from appliance.face.landmarks import FaceLandmarks
from appliance.face.region import face_crop, reduced

Array = npt.NDArray[Any]

#: Prompt keys, in the order the applicant should fix them.
PROMPTS: tuple[str, ...] = (
    "face.no_face",
    "face.one_person_only",
    "face.move_closer",
    "face.move_back",
    "face.move_left",
    "face.move_right",
    "face.move_up",
    "face.move_down",
    "face.look_straight",
    "face.straighten_head",
    "face.remove_glasses",
    "face.open_eyes",
    "face.close_mouth",
    "face.uncover_face",
    "face.remove_head_covering",
    "face.neutral_expression",
    "face.too_dark",
    "face.too_bright",
    "face.uneven_light",
    "face.keep_still",
    "face.plain_background",
    "face.hold_on",
    "face.done",
)
# Full-check failures that the operator, not the applicant, must fix.
_CHECK_PROMPTS: dict[str, str] = {
    "background_uniformity": "face.plain_background",
    "illumination_uniformity": "face.uneven_light",
    "natural_colour": "face.uneven_light",
    "sharpness": "face.keep_still",
    "compression_artifacts": "face.keep_still",
    "head_covering": "face.remove_head_covering",
    "face_occlusion": "face.uncover_face",
    "mouth_occlusion": "face.uncover_face",
    "expression_neutrality": "face.neutral_expression",
    "eyes_visible": "face.remove_glasses",
    "eyes_open": "face.open_eyes",
    "mouth_closed": "face.close_mouth",
    "luminance_mean": "face.too_dark",
    "under_exposure": "face.too_dark",
    "over_exposure": "face.too_bright",
    "dynamic_range": "face.too_dark",
    "luminance_variance": "face.uneven_light",
    "single_face": "face.one_person_only",
}


@dataclass(frozen=True)
class FrameGuidance:
    """What the fast path saw in one preview frame."""

    prompts: tuple[str, ...]
    box: tuple[int, int, int, int] | None  # x, y, w, h of the face
    eyes: tuple[tuple[float, float], tuple[float, float]] | None
    ok: bool
    score: float  # higher is better; used to keep the best frame of a run
    measures: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "prompts": list(self.prompts),
            "box": None if self.box is None else list(self.box),
            "eyes": None if self.eyes is None else [list(e) for e in self.eyes],
            "ok": self.ok,
            "score": round(self.score, 4),
            "measures": {k: round(v, 4) for k, v in self.measures.items()},
        }


class GuidanceEngine:
    """Per-frame guidance on top of a :class:`PhotoQualityEngine`'s models."""

    def __init__(self, engine: PhotoQualityEngine) -> None:
        self.engine = engine
        self.limits: FaceQualityThresholds = engine.limits
        self._last_mid: Array | None = None

    def analyse(self, frame: Array) -> FrameGuidance:
        models = self.engine.models
        height = frame.shape[0]
        faces = [f for f in models.detect(frame) if f.height >= 0.05 * height]
        if not faces:
            self._last_mid = None
            return FrameGuidance(("face.no_face",), None, None, False, 0.0)
        face = faces[0]
        landmarks = models.landmarks(frame, face, iris=False)
        prompts, measures = self._prompts(frame, landmarks, len(faces))
        box = (int(face.x), int(face.y), int(face.width), int(face.height))
        eyes = (
            (float(landmarks.right_eye_centre[0]), float(landmarks.right_eye_centre[1])),
            (float(landmarks.left_eye_centre[0]), float(landmarks.left_eye_centre[1])),
        )
        ok = not prompts
        score = measures.get("sharpness", 0.0) - measures.get("motion", 0.0)
        return FrameGuidance(tuple(prompts) or ("face.hold_on",), box, eyes, ok, score, measures)

    def _prompts(
        self, frame: Array, lm: FaceLandmarks, faces: int
    ) -> tuple[list[str], dict[str, float]]:
        lim = self.limits
        height, width = frame.shape[:2]
        prompts: list[str] = []
        if faces > 1:
            prompts.append("face.one_person_only")
        yaw, pitch, roll = lm.pose.angles if lm.pose is not None else (0.0, 0.0, 0.0)
        ied = lm.inter_eye_distance / max(0.2, math.cos(math.radians(yaw)))
        head = lm.t_metric / height
        if ied < lim.inter_eye_distance_min_px or head < lim.head_size_min:
            prompts.append("face.move_closer")
        elif head > lim.head_size_max:
            prompts.append("face.move_back")
        mid = lm.eye_midpoint
        dx = mid[0] / width - 0.5
        if dx < -lim.centring_max:
            prompts.append("face.move_right")  # the applicant's view is mirrored
        elif dx > lim.centring_max:
            prompts.append("face.move_left")
        eye_line = mid[1] / height
        if eye_line < lim.eye_line_min:
            prompts.append("face.move_down")
        elif eye_line > lim.eye_line_max:
            prompts.append("face.move_up")
        if abs(yaw) > lim.yaw_max_deg or abs(pitch) > lim.pitch_max_deg:
            prompts.append("face.look_straight")
        if abs(roll) > lim.roll_max_deg:
            prompts.append("face.straighten_head")
        # Colour measures on the face's neighbourhood only, reduced as the full
        # check reduces it; sharpness on its native pixels.
        native, native_lm = face_crop(frame, lm)
        crop, local = reduced(native, native_lm, APPEARANCE_INTER_EYE)
        lab = occlusion.to_lab(crop)
        reference = occlusion.skin_reference(lab, local)
        visible = occlusion.eyes_visible(lab, local, reference)
        if visible < lim.eyes_visible_min:
            prompts.append("face.remove_glasses")
        elif geometry.eyes_open(lm) < lim.eyes_open_min:
            prompts.append("face.open_eyes")
        if geometry.mouth_opening(lm) > lim.mouth_closed_max:
            prompts.append("face.close_mouth")
        covered = occlusion.face_occlusion(lab, local, occlusion.skin_like(lab, reference))
        if covered > lim.face_occlusion_max:
            prompts.append("face.uncover_face")
        lum = photometry.luminance(crop)
        hist = photometry.histogram(lum, photometry.face_mask(crop.shape, local))
        mean, _ = photometry.luminance_stats(hist)
        if mean < lim.luminance_mean_min:
            prompts.append("face.too_dark")
        elif mean > lim.luminance_mean_max:
            prompts.append("face.too_bright")
        sharp = sharpness.measure(cv2.cvtColor(native, cv2.COLOR_BGR2GRAY), native_lm)
        motion = 0.0
        if self._last_mid is not None:
            motion = float(np.linalg.norm(mid - self._last_mid)) / max(lm.inter_eye_distance, 1)
        self._last_mid = mid.copy()
        blurred = sharp.detail < lim.sharpness_min or sharp.direction < lim.sharpness_direction_min
        if blurred or motion > 0.05:
            prompts.append("face.keep_still")
        measures = {
            "inter_eye_distance": ied,
            "yaw": yaw,
            "pitch": pitch,
            "roll": roll,
            "eyes_visible": visible,
            "face_occlusion": covered,
            "luminance_mean": mean,
            "sharpness": sharp.detail,
            "sharpness_direction": sharp.direction,
            "motion": motion,
        }
        return [p for p in PROMPTS if p in prompts], measures


def prompts_for(report: PhotoReport) -> list[str]:
    """Prompt keys for the failures of a full check."""
    keys = {_CHECK_PROMPTS.get(name, "face.hold_on") for name in report.failed}
    return [p for p in PROMPTS if p in keys]


class AutoCapture:
    """The auto-capture gate: after ``frames`` good preview frames in a row it hands
    over the best of them (highest guidance score) for the full check.

    It only picks the frame; the full ICAO check (and what happens when that
    check fails) belongs to the capture service. Any frame that is not good
    starts the run again.
    """

    def __init__(self, frames: int) -> None:
        if frames < 1:
            raise ValueError("auto-capture needs at least one frame")
        self.frames = frames
        self.streak = 0
        self._best: Array | None = None
        self._best_score = -math.inf

    def offer(self, frame: Array, ok: bool, score: float) -> Array | None:
        """Feed one analysed preview frame; returns the frame to check, or None."""
        if not ok:
            self.reset()
            return None
        self.streak += 1
        if score > self._best_score:
            self._best, self._best_score = frame, score
        if self.streak < self.frames or self._best is None:
            return None
        best = self._best
        self.reset()
        return best

    def reset(self) -> None:
        self.streak, self._best, self._best_score = 0, None, -math.inf
