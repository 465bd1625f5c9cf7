"""The photo-quality engine: every ICAO check on one portrait, with limits from config.

For each check it reports the raw value, OFIQ's 0-100 score where OFIQ defines
a mapping (``None`` otherwise), the limit as text and pass/fail. The portrait
is compliant when exactly one face is found and every check passes.

One pass per image: the full-range detector, the mesh (with its head pose)
and the iris model run once; every per-face measure runs on one crop of the
face's neighbourhood (luminance and CIELAB computed once, shared by the
checks); the background is judged on a reduced frame and the person segmenter
runs only when the background is not clearly uniform without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from appliance.config.quality import FaceQualityThresholds
from appliance.face import background, geometry, occlusion, photometry, sharpness
from appliance.face.landmarks import FaceBox, FaceLandmarks, FaceModels, Pyramid
from appliance.face.region import face_crop, reduced

Array = npt.NDArray[Any]

CHECK_NAMES: tuple[str, ...] = (
    "single_face",
    "inter_eye_distance",
    "head_size",
    "centring",
    "crop_left",
    "crop_right",
    "crop_top",
    "crop_bottom",
    "yaw",
    "pitch",
    "roll",
    "eyes_open",
    "eyes_visible",
    "mouth_closed",
    "mouth_occlusion",
    "face_occlusion",
    "expression_neutrality",
    "head_covering",
    "background_uniformity",
    "illumination_uniformity",
    "luminance_mean",
    "luminance_variance",
    "under_exposure",
    "over_exposure",
    "dynamic_range",
    "sharpness",
    "compression_artifacts",
    "natural_colour",
)
MIN_FACE_FRACTION = 0.05  # faces smaller than 5 % of the image height are not counted
# Colour, occlusion and exposure measures run on the face crop reduced to this
# inter-eye distance; sharpness and JPEG blockiness keep the native pixels.
APPEARANCE_INTER_EYE = 72.0


@dataclass(frozen=True)
class CheckResult:
    value: float | None
    score: float | None
    limit: str | None
    passed: bool

    def as_json(self) -> dict[str, Any]:
        value = None if self.value is None or not math.isfinite(self.value) else self.value
        return {
            "value": None if value is None else round(float(value), 4),
            "score": None if self.score is None else round(float(self.score)),
            "limit": self.limit,
            "passed": bool(self.passed),
        }


@dataclass
class PhotoReport:
    faces: int
    checks: dict[str, CheckResult]
    landmarks: FaceLandmarks | None = None
    face: FaceBox | None = None
    extras: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        return [name for name in CHECK_NAMES if not self.checks[name].passed]

    @property
    def compliant(self) -> bool:
        return not self.failed

    def as_json(self) -> dict[str, Any]:
        return {
            "compliant": self.compliant,
            "faces": self.faces,
            "failed": self.failed,
            "checks": {name: self.checks[name].as_json() for name in CHECK_NAMES},
        }


def sigmoid(x: float, x0: float, w: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-500.0, min(500.0, (x - x0) / w))))


def ofiq_score(x: float, h: float, x0: float, w: float, a: float = 1.0, s: float = 1.0) -> float:
    """OFIQ's quality mapping ``h * (a + s * sigmoid(x, x0, w))``, clamped to 0..100."""
    return max(0.0, min(100.0, h * (a + s * sigmoid(x, x0, w))))


def _pose_score(degrees: float) -> float:
    return 100.0 * max(0.0, math.cos(math.radians(degrees))) ** 2


class PhotoQualityEngine:
    """Loads the models once; :meth:`assess` is safe to call from one thread at a time."""

    def __init__(
        self,
        thresholds: FaceQualityThresholds | None = None,
        models: FaceModels | None = None,
        models_dir: Path | None = None,
    ) -> None:
        self.limits = thresholds or FaceQualityThresholds()
        self.models = models or FaceModels(models_dir)

    def close(self) -> None:
        self.models.close()

    def warm_up(self) -> None:
        """Every model loaded and run once, and every check once on a synthetic frame."""
        self.models.warm_up()
        self._checks(*_synthetic_face(self.models), faces=1)

    def assess(self, image: Array) -> PhotoReport:
        height = image.shape[0]
        pyramid = Pyramid(image)
        found = self.models.detect_all(image, pyramid)
        faces = [f for f in found if f.height >= MIN_FACE_FRACTION * height]
        if not faces:
            return self._no_face()
        landmarks = self.models.landmarks(image, faces[0])
        checks, extras = self._checks(image, landmarks, len(faces), pyramid)
        return PhotoReport(len(faces), checks, landmarks, faces[0], extras)

    def _no_face(self) -> PhotoReport:
        checks = {name: CheckResult(None, None, None, False) for name in CHECK_NAMES}
        checks["single_face"] = CheckResult(0, None, "exactly 1 face", False)
        return PhotoReport(0, checks)

    # ----------------------------------------------------------------- the checks

    def _checks(
        self, image: Array, lm: FaceLandmarks, faces: int, pyramid: Pyramid | None = None
    ) -> tuple[dict[str, CheckResult], dict[str, float]]:
        out: dict[str, CheckResult] = {}
        extras: dict[str, float] = {}
        out["single_face"] = CheckResult(faces, None, "exactly 1 face", faces == 1)
        self._geometry(image.shape, lm, out)
        native, native_lm = face_crop(image, lm, align=8)
        grey = cv2.cvtColor(native, cv2.COLOR_BGR2GRAY)
        crop, local = reduced(native, native_lm, APPEARANCE_INTER_EYE)
        lab = occlusion.to_lab(crop)
        lum = photometry.luminance(crop)
        self._appearance(lab, lm, local, out)
        self._background(pyramid or Pyramid(image), lm, out, extras)
        self._photometry(crop, lum, local, out)
        self._detail(grey, native_lm, out, extras)
        return {name: out[name] for name in CHECK_NAMES}, extras

    def _geometry(
        self, shape: tuple[int, ...], lm: FaceLandmarks, out: dict[str, CheckResult]
    ) -> None:
        lim = self.limits
        height, width = shape[:2]
        yaw, pitch, roll = lm.pose.angles if lm.pose is not None else (0.0, 0.0, 0.0)
        cos_yaw = max(0.2, math.cos(math.radians(yaw)))
        ied = lm.inter_eye_distance / cos_yaw
        out["inter_eye_distance"] = CheckResult(
            ied,
            ofiq_score(ied, 100, 70, 20),
            f">= {lim.inter_eye_distance_min_px:g} px",
            ied >= lim.inter_eye_distance_min_px,
        )
        t = max(lm.t_metric, 1e-6)
        head = t / height
        out["head_size"] = CheckResult(
            head,
            ofiq_score(abs(head - 0.45), 200, 0.0, 0.05, a=1, s=-1),
            f"{lim.head_size_min:g}..{lim.head_size_max:g} of image height",
            lim.head_size_min <= head <= lim.head_size_max,
        )
        mid = lm.eye_midpoint
        offset = abs(mid[0] / width - 0.5)
        eye_line = mid[1] / height
        out["centring"] = CheckResult(
            offset,
            None,
            f"|x - 0.5| <= {lim.centring_max:g} W, eye line "
            f"{lim.eye_line_min:g}..{lim.eye_line_max:g} H",
            offset <= lim.centring_max and lim.eye_line_min <= eye_line <= lim.eye_line_max,
        )
        ied_px = max(lm.inter_eye_distance, 1e-6)
        for name, value, x0, limit in (
            ("crop_left", lm.right_eye_centre[0] / ied_px, 0.9, lim.crop_side_min),
            ("crop_right", (width - lm.left_eye_centre[0]) / ied_px, 0.9, lim.crop_side_min),
            ("crop_top", mid[1] / t, 1.4, lim.crop_top_min),
            ("crop_bottom", (height - mid[1]) / t, 1.8, lim.crop_bottom_min),
        ):
            out[name] = CheckResult(
                float(value),
                ofiq_score(float(value), 100, x0, 0.1),
                f">= {limit:g}",
                value >= limit,
            )
        for name, angle, limit in (
            ("yaw", yaw, lim.yaw_max_deg),
            ("pitch", pitch, lim.pitch_max_deg),
            ("roll", roll, lim.roll_max_deg),
        ):
            out[name] = CheckResult(
                angle, _pose_score(angle), f"|angle| <= {limit:g} deg", abs(angle) <= limit
            )

    def _appearance(
        self, lab: Array, lm: FaceLandmarks, local: FaceLandmarks, out: dict[str, CheckResult]
    ) -> None:
        lim = self.limits
        eyes = geometry.eyes_open(lm)
        reference = occlusion.skin_reference(lab, local)
        iris = occlusion.iris_darkness(lab, local, reference)
        out["eyes_open"] = CheckResult(
            eyes,
            ofiq_score(eyes, 100, 0.02, 0.01),
            f">= {lim.eyes_open_min:g} T, pupils darker than {lim.iris_darkness_max:g} x skin",
            eyes >= lim.eyes_open_min and (iris is None or iris <= lim.iris_darkness_max),
        )
        visible = occlusion.eyes_visible(lab, local, reference)
        out["eyes_visible"] = CheckResult(
            visible, 100 * visible, f">= {lim.eyes_visible_min:g}", visible >= lim.eyes_visible_min
        )
        mouth = geometry.mouth_opening(lm)
        out["mouth_closed"] = CheckResult(
            mouth,
            ofiq_score(mouth, 100, 0.2, 0.06, a=1, s=-1),
            f"<= {lim.mouth_closed_max:g}",
            mouth <= lim.mouth_closed_max,
        )
        skin = occlusion.skin_like(lab, reference)
        for name, value, limit in (
            (
                "mouth_occlusion",
                occlusion.mouth_occlusion(lab, local, reference, skin),
                lim.mouth_occlusion_max,
            ),
            ("face_occlusion", occlusion.face_occlusion(lab, local, skin), lim.face_occlusion_max),
            ("expression_neutrality", geometry.expression(lm), lim.expression_max),
            ("head_covering", occlusion.head_covering(lab, local, skin), lim.head_covering_max),
        ):
            out[name] = CheckResult(value, None, f"<= {limit:g}", value <= limit)

    def _background(
        self,
        pyramid: Pyramid,
        lm: FaceLandmarks,
        out: dict[str, CheckResult],
        extras: dict[str, float],
    ) -> None:
        lim = self.limits
        limits = background.BackgroundLimits(
            lim.background_gradient_max, lim.background_chroma_max, lim.background_spread_max
        )
        text = (
            f"gradient <= {lim.background_gradient_max:g}, chroma <= "
            f"{lim.background_chroma_max:g}, spread <= {lim.background_spread_max:g}"
        )
        found = background.assess(pyramid, lm, self.models.person_mask, limits)
        if found is None:
            out["background_uniformity"] = CheckResult(None, None, "no background visible", False)
            return
        extras.update(
            background_chroma=found.chroma,
            background_spread=found.spread,
            background_segmented=float(found.segmented),
        )
        out["background_uniformity"] = CheckResult(
            found.gradient,
            ofiq_score(found.gradient, 190, 10, 100, a=1, s=-1),
            text,
            found.passes(limits),
        )

    def _photometry(
        self, crop: Array, lum: Array, local: FaceLandmarks, out: dict[str, CheckResult]
    ) -> None:
        lim = self.limits
        uniform = photometry.illumination_uniformity(lum, local)
        face = photometry.face_mask(lum.shape, local)
        halves = photometry.halves_ratio(lum, local, face)
        light_limit = (
            f"cheek histogram intersection >= {lim.illumination_min:g}, "
            f"darker/lighter face half >= {lim.illumination_halves_min:g}"
        )
        out["illumination_uniformity"] = (
            CheckResult(None, None, light_limit, False)
            if uniform is None
            else CheckResult(
                uniform,
                100 * uniform**0.3,
                light_limit,
                uniform >= lim.illumination_min
                and (halves is None or halves >= lim.illumination_halves_min),
            )
        )
        hist = photometry.histogram(lum, face)
        mean, variance = photometry.luminance_stats(hist)
        out["luminance_mean"] = CheckResult(
            mean,
            100 * sigmoid(mean, 0.2, 0.05) * (1 - sigmoid(mean, 0.8, 0.05)),
            f"{lim.luminance_mean_min:g}..{lim.luminance_mean_max:g}",
            lim.luminance_mean_min <= mean <= lim.luminance_mean_max,
        )
        out["luminance_variance"] = CheckResult(
            variance,
            100 * math.sin(60 * variance / (60 * variance + 1) * math.pi),
            f"{lim.luminance_variance_min:g}..{lim.luminance_variance_max:g}",
            lim.luminance_variance_min <= variance <= lim.luminance_variance_max,
        )
        dark = photometry.range_fraction(hist, 0, 25)
        out["under_exposure"] = CheckResult(
            dark,
            ofiq_score(dark, 120, 0.92, 0.05, a=0.832, s=-1),
            f"<= {lim.under_exposure_max:g}",
            dark <= lim.under_exposure_max,
        )
        bright = photometry.range_fraction(hist, 247, 255)
        out["over_exposure"] = CheckResult(
            bright,
            max(0.0, min(100.0, 1.0 / (bright + 0.01))),
            f"<= {lim.over_exposure_max:g}",
            bright <= lim.over_exposure_max,
        )
        bits = photometry.entropy(hist)
        out["dynamic_range"] = CheckResult(
            bits,
            min(100.0, 12.5 * bits),
            f">= {lim.dynamic_range_min:g} bits",
            bits >= lim.dynamic_range_min,
        )
        colour = photometry.natural_colour(crop, local)
        out["natural_colour"] = (
            CheckResult(None, None, f"<= {lim.natural_colour_max:g}", False)
            if colour is None
            else CheckResult(
                colour,
                ofiq_score(colour, 200, 0.0, 10.0, a=1, s=-1),
                f"<= {lim.natural_colour_max:g}",
                colour <= lim.natural_colour_max,
            )
        )

    def _detail(
        self,
        grey: Array,
        local: FaceLandmarks,
        out: dict[str, CheckResult],
        extras: dict[str, float],
    ) -> None:
        """Sharpness and JPEG blockiness, on the native pixels."""
        lim = self.limits
        sharp = sharpness.measure(grey, local)
        extras.update(sharpness_direction=sharp.direction, native_detail=sharp.native_detail)
        out["sharpness"] = CheckResult(
            sharp.detail,
            None,
            f"detail >= {lim.sharpness_min:g}, direction >= {lim.sharpness_direction_min:g}",
            sharp.detail >= lim.sharpness_min and sharp.direction >= lim.sharpness_direction_min,
        )
        blocks = photometry.blockiness(grey)
        out["compression_artifacts"] = CheckResult(
            blocks, None, f"<= {lim.compression_max:g}", blocks <= lim.compression_max
        )


def _synthetic_face(models: FaceModels) -> tuple[Array, FaceLandmarks]:
    """A grey frame and the mesh the model finds in it: enough to run every check once."""
    frame = np.full((480, 400, 3), 170, np.uint8)
    box = FaceBox(120.0, 140.0, 160.0, 160.0, 1.0, (165.0, 190.0), (235.0, 190.0))
    return frame, models.landmarks(frame, box)
