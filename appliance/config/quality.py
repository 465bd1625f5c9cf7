"""Quality thresholds: when a face photo or a fingerprint is good enough to keep.

Defaults follow ICAO 9303 / ISO/IEC 39794-5 for faces and common national-ID
practice for NFIQ 2. The engines read these values; nothing is hard-coded in them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def _limit(default: float, description: str, lo: float = 0.0, hi: float = 1000.0) -> Any:
    return Field(default=default, ge=lo, le=hi, description=description)


class FaceQualityThresholds(BaseModel):
    """ICAO portrait limits, one per check of the photo-quality engine.

    Raw values are ISO/IEC 29794-5 component measures computed as BSI's OFIQ
    does where OFIQ defines them; defaults follow ICAO 9303 part 3 and ISO/IEC
    39794-5 (and OFIQ's own 50-point crossings where the standard gives none).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    inter_eye_distance_min_px: float = _limit(
        90, "Minimum distance between eye centres, pixels (yaw-corrected, as OFIQ).", 10
    )
    head_size_min: float = _limit(
        0.20,
        "Minimum OFIQ head size (T = eye-midpoint-to-chin, over image height). A kiosk "
        "frame may show more than the portrait: the stored ISO/IEC 19794-5 token is cut "
        "from it at the standard's geometry, so this bound only asks for a usable face.",
        0,
        1,
    )
    head_size_max: float = _limit(
        0.45,
        "Maximum OFIQ head size (T / image height). ICAO 9303-3 / ISO/IEC 39794-5 put "
        "chin-to-crown at 70-80 % of the height and the eyes at about mid-head, so T is "
        "0.33-0.42 of the height on compliant photos; 0.45 is OFIQ's optimum. Above it the "
        "crown or chin leaves the frame.",
        0,
        1,
    )
    centring_max: float = _limit(
        0.05,
        "Maximum horizontal offset of the face centre line from the image centre, "
        "as a fraction of the image width (ISO/IEC 19794-5: 0.45..0.55 W).",
        0,
        0.5,
    )
    eye_line_min: float = _limit(0.30, "Highest eye line, fraction of height from top.", 0, 1)
    eye_line_max: float = _limit(0.50, "Lowest eye line, fraction of height from top.", 0, 1)
    crop_side_min: float = _limit(
        0.9,
        "Minimum distance from eye centre to the left/right border, in inter-eye "
        "distances (OFIQ LeftwardCrop / RightwardCrop).",
        0,
        10,
    )
    crop_top_min: float = _limit(
        1.1,
        "Minimum distance from the eye line to the top border, in OFIQ T units (OFIQ "
        "MarginAbove raw). The crown lies about 1.0 T above the eye line; ICAO 35x45 mm "
        "crops (head 70-80 % of the height, eyes 50-70 % up from the bottom, ISO/IEC "
        "19794-5 full frontal) give 1.1-1.5. OFIQ's 1.4 is its score-50 point, not a "
        "compliance limit.",
        0,
        10,
    )
    crop_bottom_min: float = _limit(
        1.2,
        "Minimum distance from the eye line to the bottom border, in T units (OFIQ "
        "MarginBelow raw): the chin (1.0 T) plus some neck. ICAO crops give 1.25-2.0; "
        "OFIQ's 1.8 is its score-50 point, not a compliance limit.",
        0,
        10,
    )
    yaw_max_deg: float = _limit(5.0, "Maximum head yaw (degrees).", 0.5, 45)
    pitch_max_deg: float = _limit(5.0, "Maximum head pitch (degrees).", 0.5, 45)
    roll_max_deg: float = _limit(8.0, "Maximum head roll (degrees).", 0.5, 45)
    eyes_open_min: float = _limit(
        0.05, "Minimum eyelid opening of the less open eye, in T units.", 0, 1
    )
    iris_darkness_max: float = _limit(
        0.7,
        "Largest pupil/iris lightness relative to the skin for an eye to count as open "
        "(a closed lid is about as light as the skin).",
        0,
        2,
    )
    eyes_visible_min: float = _limit(
        0.6, "Minimum fraction of the eye regions that looks like an unoccluded eye.", 0, 1
    )
    mouth_closed_max: float = _limit(
        0.09, "Maximum inner-lip opening, in T units (OFIQ MouthClosed raw).", 0, 1
    )
    mouth_occlusion_max: float = _limit(
        0.35, "Maximum fraction of the mouth region that is not skin or lips.", 0, 1
    )
    face_occlusion_max: float = _limit(
        0.35, "Maximum fraction of the face region that is not skin-like.", 0, 1
    )
    expression_max: float = _limit(
        1.0, "Maximum expression deviation from neutral (1 = at a limit).", 0, 10
    )
    head_covering_max: float = _limit(
        0.70, "Maximum fraction of the forehead band that is covered.", 0, 1
    )
    background_gradient_max: float = _limit(
        80.0, "Maximum mean Scharr gradient of the background (OFIQ raw).", 0, 1000
    )
    background_chroma_max: float = _limit(
        25.0, "Maximum mean CIELAB chroma of the background (plain, neutral).", 0, 200
    )
    background_spread_max: float = _limit(
        20.0,
        "Maximum CIELAB difference across the smoothed background beside and above the "
        "head, down to the mouth (3rd to 97th percentile of L*, a*, b*): a light-to-dark "
        "ramp or a shadow on the backdrop. An evenly lit backdrop stays within a few "
        "units; 20 is a plainly visible gradient.",
        0,
        200,
    )
    illumination_min: float = _limit(
        0.35, "Minimum histogram intersection of the two cheek regions (OFIQ raw).", 0, 1
    )
    illumination_halves_min: float = _limit(
        0.45,
        "Minimum ratio of the darker to the lighter half of the face (mean luminance).",
        0,
        1,
    )
    luminance_mean_min: float = _limit(
        0.12,
        "Minimum mean face luminance (OFIQ raw). Below OFIQ's 0.2 crossing so that "
        "darker skin under correct exposure passes.",
        0,
        1,
    )
    luminance_mean_max: float = _limit(0.80, "Maximum mean face luminance (OFIQ raw).", 0, 1)
    luminance_variance_min: float = _limit(
        0.002,
        "Minimum face luminance variance (OFIQ raw; OFIQ's score-50 point is 0.0033, "
        "lowered because linear-light variance shrinks with darker skin).",
        0,
        1,
    )
    luminance_variance_max: float = _limit(
        0.083, "Maximum face luminance variance (OFIQ raw; score 50).", 0, 1
    )
    under_exposure_max: float = _limit(
        0.70, "Maximum fraction of face pixels in the dark range 0..25 (OFIQ raw).", 0, 1
    )
    over_exposure_max: float = _limit(
        0.02, "Maximum fraction of face pixels in the bright range 247..255 (OFIQ raw).", 0, 1
    )
    dynamic_range_min: float = _limit(
        5.0, "Minimum entropy of face luminance, bits (OFIQ raw).", 0, 8
    )
    sharpness_min: float = _limit(
        0.14,
        "Minimum face detail at native resolution: spectral amplitude at 0.15-0.3 "
        "cycles/pixel over 0.075-0.15, eyes-to-mouth region (faces reduced to an inter-eye "
        "distance of 180 px at most). Sharp photos give 0.18-0.35; focus blur and "
        "enlarged (upscaled) photos give 0.03-0.11.",
        0,
        10,
    )
    sharpness_direction_min: float = _limit(
        0.35,
        "Minimum ratio of the weakest to the strongest direction of face detail "
        "(0.1-0.35 cycles/pixel, eight orientations; amplitude). Sharp faces give 0.5-0.7, "
        "motion blur of 7-21 px 0.06-0.23.",
        0,
        1,
    )
    compression_max: float = _limit(
        2.0, "Maximum JPEG blockiness (8x8 boundary vs interior gradient ratio).", 0, 10
    )
    natural_colour_max: float = _limit(
        11.0,
        "Maximum CIELAB distance of the cheeks from the natural skin range (OFIQ raw).",
        0,
        200,
    )
    auto_capture_frames: int = Field(
        default=5,
        ge=1,
        le=60,
        description="Consecutive compliant preview frames before auto-capture.",
    )


class FingerQualityThresholds(BaseModel):
    """NFIQ 2 acceptance and capture retries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    nfiq2_min: int = Field(
        default=35, ge=0, le=100, description="Minimum NFIQ 2 score to accept a finger."
    )
    retries: int = Field(
        default=3, ge=0, le=10, description="Re-captures before keeping the best attempt."
    )
    stable_frames: int = Field(
        default=3,
        ge=1,
        le=30,
        description="Consecutive frames of stable quality before auto-capture.",
    )


class QualityConfig(BaseModel):
    """Quality thresholds for the face and fingerprint engines."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    face: FaceQualityThresholds = Field(
        default_factory=FaceQualityThresholds, description="Face photo (ICAO) limits."
    )
    finger: FingerQualityThresholds = Field(
        default_factory=FingerQualityThresholds, description="Fingerprint (NFIQ 2) limits."
    )
