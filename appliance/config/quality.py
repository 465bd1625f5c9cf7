"""Quality thresholds: when a face photo or a fingerprint is good enough to keep.

Defaults follow ICAO 9303 / ISO/IEC 39794-5 for faces and common national-ID
practice for NFIQ 2. The engines read these values; nothing is hard-coded in them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FaceQualityThresholds(BaseModel):
    """ICAO portrait limits (ISO/IEC 29794-5 component measures)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    inter_eye_distance_min_px: int = Field(
        default=90, ge=30, le=1000, description="Minimum distance between eye centres (pixels)."
    )
    yaw_max_deg: float = Field(default=5.0, gt=0, le=45, description="Maximum head yaw (degrees).")
    pitch_max_deg: float = Field(
        default=5.0, gt=0, le=45, description="Maximum head pitch (degrees)."
    )
    roll_max_deg: float = Field(
        default=8.0, gt=0, le=45, description="Maximum head roll (degrees)."
    )
    min_component_score: int = Field(
        default=50,
        ge=0,
        le=100,
        description="Minimum 0-100 score for checks whose OFIQ mapping yields a score.",
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
