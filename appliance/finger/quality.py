"""Fingerprint quality: NIST NFIQ 2 (via nbis-py) plus a ridge-presence check.

NFIQ 2 scores 0-100. Its four *actionable* measures (NFIQ 2 report, section
"actionable quality feedback") become message keys the UI translates:

=================================  =========  ==============================
measure                            threshold  feedback
=================================  =========  ==============================
EmptyImageOrContrastTooLow (mean)  > 250      ``finger.place_finger``
UniformImage (std. deviation)      < 1        ``finger.clean_sensor``
FingerprintImageWithMinutiae       < 5        ``finger.press_harder``
SufficientFingerprintForeground    < 50000    ``finger.center_finger``
=================================  =========  ==============================

NFIQ 2 happily scores sensor noise, so a ridge-presence check (orientation
coherence of the structure tensor, which is high on ridges and low on noise)
runs first; an image without ridges is rejected with a reason. Dry and wet
prints are told apart by grey level: faint ridges read ``finger.too_dry``,
dark merged ridges ``finger.too_wet``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from appliance.config.quality import FingerQualityThresholds
from appliance.finger.nbis_calls import NbisFailure, NbisScore, score_png

ImageU8 = npt.NDArray[np.uint8]

MIN_COHERENCE = 0.35
MIN_FOREGROUND_BLOCKS = 12


class FingerImageError(Exception):
    """The input is not a usable grayscale fingerprint image."""


@dataclass
class FingerAssessment:
    nfiq2: int | None
    accepted: bool
    feedback: list[str] = field(default_factory=list)
    reason: str | None = None
    actionable: dict[str, float] = field(default_factory=dict)
    ms: float = 0.0
    #: The NBIS minutiae NFIQ 2 was computed from (kept for the same-hand check).
    minutiae: Any = field(default=None, compare=False, repr=False)


class FingerScorer(Protocol):
    """Where NFIQ 2 runs: in this process (:data:`IN_PROCESS`) or in worker processes."""

    def score_all(self, pngs: Sequence[bytes]) -> list[NbisScore | NbisFailure]:
        """NFIQ 2 of each PNG-encoded finger, in order (blocking)."""
        ...


class InProcessScorer:
    """NFIQ 2 in this process, one finger at a time (the CLI, tools and tests)."""

    def score_all(self, pngs: Sequence[bytes]) -> list[NbisScore | NbisFailure]:
        return [score_png(png) for png in pngs]


IN_PROCESS = InProcessScorer()


def ridge_presence(image: ImageU8, block: int = 16) -> tuple[float, int]:
    """(median coherence over textured blocks, number of textured blocks)."""
    gray = image.astype(np.float32)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    gxx = cv2.boxFilter(gx * gx, -1, (block, block))[block // 2 :: block, block // 2 :: block]
    gyy = cv2.boxFilter(gy * gy, -1, (block, block))[block // 2 :: block, block // 2 :: block]
    gxy = cv2.boxFilter(gx * gy, -1, (block, block))[block // 2 :: block, block // 2 :: block]
    energy = gxx + gyy
    textured = energy > max(float(np.percentile(energy, 90)) * 0.25, 400.0)
    if not textured.any():
        return 0.0, 0
    coherence = np.sqrt((gxx - gyy) ** 2 + 4 * gxy**2) / (energy + 1e-6)
    return float(np.median(coherence[textured])), int(textured.sum())


def _faint(image: ImageU8) -> bool:
    """Ridges too light: the darkest tenth of the image is still pale (dry skin, light touch)."""
    return float(np.percentile(image, 10)) > 150


def _wet(image: ImageU8) -> bool:
    """A finger-shaped dark patch without ridges: merged ridges (wet finger, heavy press).

    Sensor noise has no large-scale structure (its blurred image is flat); a
    smudged finger does.
    """
    blurred = cv2.GaussianBlur(image, (0, 0), 8.0)
    return float(blurred.std()) > 20 and float((blurred < 170).mean()) > 0.1


def _feedback(image: ImageU8, actionable: dict[str, float]) -> list[str]:
    keys: list[str] = []
    if actionable.get("EmptyImageOrContrastTooLow", 0) > 250:
        keys.append("finger.place_finger")
    if actionable.get("UniformImage", 99) < 1:
        keys.append("finger.clean_sensor")
    if actionable.get("FingerprintImageWithMinutiae", 99) < 5:
        keys.append("finger.press_harder")
    if actionable.get("SufficientFingerprintForeground", 1e9) < 50000:
        keys.append("finger.center_finger")
    dark = image < 128
    if dark.any():
        ridge_level = float(np.mean(image[dark]))
        fill = float(dark.mean())
        if fill > 0.55:
            keys.append("finger.too_wet")
        elif ridge_level > 95 and "finger.place_finger" not in keys:
            keys.append("finger.too_dry")
    return keys


def assess_finger(
    image: ImageU8, thresholds: FingerQualityThresholds, scorer: FingerScorer = IN_PROCESS
) -> FingerAssessment:
    """NFIQ 2 and actionable feedback for one 500 ppi grayscale finger image."""
    return assess_fingers([image], thresholds, scorer)[0]


def assess_fingers(
    images: Sequence[ImageU8], thresholds: FingerQualityThresholds, scorer: FingerScorer
) -> list[FingerAssessment]:
    """NFIQ 2 and feedback for several fingers, all given to the scorer at once (blocking).

    The ridge-presence checks run here first; only fingers that pass them reach NBIS.
    """
    started = time.perf_counter()
    screened = [_screen(image, started) for image in images]
    pngs = [item for item in screened if isinstance(item, bytes)]
    scores = iter(scorer.score_all(pngs) if pngs else [])
    return [
        _conclude(image, next(scores), thresholds, started) if isinstance(item, bytes) else item
        for image, item in zip(images, screened, strict=True)
    ]


def _screen(image: ImageU8, started: float) -> FingerAssessment | bytes:
    """A rejection that needs no NFIQ 2 (no finger, no ridges), or the image for NBIS."""
    if image.ndim != 2 or image.dtype != np.uint8:
        raise FingerImageError("expected an 8-bit grayscale image")
    if min(image.shape) < 64:
        raise FingerImageError(f"image too small ({image.shape[1]}x{image.shape[0]})")
    coherence, blocks = ridge_presence(image)
    if blocks < MIN_FOREGROUND_BLOCKS or float(image.std()) < 6:
        return FingerAssessment(
            None,
            False,
            ["finger.place_finger"],
            "no finger on the sensor (blank image)",
            ms=(time.perf_counter() - started) * 1000,
        )
    if coherence < MIN_COHERENCE and _wet(image):
        return FingerAssessment(
            None,
            False,
            ["finger.too_wet"],
            "ridges merged into dark patches (finger too wet or pressed too hard)",
            ms=(time.perf_counter() - started) * 1000,
        )
    if coherence < MIN_COHERENCE:
        return FingerAssessment(
            None,
            False,
            ["finger.clean_sensor", "finger.place_finger"],
            "no ridge structure (noise or smudge)",
            ms=(time.perf_counter() - started) * 1000,
        )
    ok, png = cv2.imencode(".png", image)
    if not ok:
        raise FingerImageError("cannot encode the image for NFIQ 2")
    return bytes(png)


def _conclude(
    image: ImageU8,
    scored: NbisScore | NbisFailure,
    thresholds: FingerQualityThresholds,
    started: float,
) -> FingerAssessment:
    if not isinstance(scored, NbisScore):
        return FingerAssessment(
            None,
            False,
            ["finger.too_dry", "finger.press_harder"] if _faint(image) else ["finger.hold_still"],
            f"NFIQ 2 could not compute a score ({scored})",
            ms=(time.perf_counter() - started) * 1000,
        )
    feedback = _feedback(image, scored.actionable)
    accepted = scored.score >= thresholds.nfiq2_min
    reason = None if accepted else f"NFIQ 2 {scored.score} below {thresholds.nfiq2_min}"
    if accepted:
        feedback = []  # good enough: no prompt for the applicant
    return FingerAssessment(
        scored.score,
        accepted,
        feedback,
        reason,
        scored.actionable,
        (time.perf_counter() - started) * 1000,
        scored.minutiae,
    )
