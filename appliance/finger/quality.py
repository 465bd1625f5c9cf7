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

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from appliance.config.quality import FingerQualityThresholds

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


#: NBIS (mindtct, bozorth3, NFIQ 2) keeps global state in C: one call at a time, process-wide.
_NBIS_LOCK = threading.RLock()


def extract_minutiae(png: bytes) -> Any:
    """NBIS minutiae (and NFIQ 2) of one PNG-encoded finger image, serialised."""
    with _NBIS_LOCK:
        return _extractor().extract_minutiae(png)


def compare_minutiae(a: Any, b: Any) -> int:
    """bozorth3 score between two minutiae sets, serialised like every NBIS call."""
    with _NBIS_LOCK:
        return int(a.compare(b))


def _extractor() -> Any:
    import nbis
    import nbis.nbis as binding

    from appliance.finger.uniffi_copy import speed_up_byte_copies

    if not hasattr(_extractor, "cached"):
        speed_up_byte_copies(binding)
        settings = nbis.NbisExtractorSettings(
            min_quality=0.0,
            get_center=False,
            check_fingerprint=False,
            compute_nfiq2=True,
            ppi=500.0,
        )
        _extractor.cached = nbis.new_nbis_extractor(settings)  # type: ignore[attr-defined]
    return _extractor.cached  # type: ignore[attr-defined]


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


def assess_finger(image: ImageU8, thresholds: FingerQualityThresholds) -> FingerAssessment:
    """NFIQ 2 and actionable feedback for one 500 ppi grayscale finger image."""
    started = time.perf_counter()
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
    import nbis

    try:
        with _NBIS_LOCK:
            minutiae = extract_minutiae(bytes(png))
            result = minutiae.quality()
    except nbis.NbisError as exc:
        return FingerAssessment(
            None,
            False,
            ["finger.too_dry", "finger.press_harder"] if _faint(image) else ["finger.hold_still"],
            f"NFIQ 2 could not compute a score ({type(exc).__name__})",
            ms=(time.perf_counter() - started) * 1000,
        )
    actionable = {v.name: float(v.value) for v in result.actionable}
    score = int(result.score)
    feedback = _feedback(image, actionable)
    accepted = score >= thresholds.nfiq2_min
    reason = None if accepted else f"NFIQ 2 {score} below {thresholds.nfiq2_min}"
    if accepted:
        feedback = []  # good enough: no prompt for the applicant
    return FingerAssessment(
        score,
        accepted,
        feedback,
        reason,
        actionable,
        (time.perf_counter() - started) * 1000,
        minutiae,
    )
