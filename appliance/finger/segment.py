"""Slap segmentation: split a four-finger or two-thumb plain impression into fingers.

1. Foreground: ridge energy (local gradient magnitude), thresholded with Otsu,
   closed with a kernel about one ridge gap wide so a finger becomes one blob.
2. Components smaller than a fingertip are dropped (dust, noise).
3. A blob much wider than the median finger (touching fingers, the classic
   failure) is split at the deepest valleys of its column profile.
4. Each finger's box is its fingertip: from the top of the blob down at most
   1.6 finger widths (the distal phalanx); the rest of the finger is ignored.
5. Fingers are ordered left to right and given their ANSI/NIST FGP codes from
   the hand's layout. The count must equal the expected number, else the slap
   is re-captured with a reason.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from drivers.interfaces import SLAP_LAYOUT, CaptureKind, FingerPosition

ImageU8 = npt.NDArray[np.uint8]

MIN_FINGER_AREA = 6000  # px at 500 ppi: about 4 x 6 mm of skin
NOMINAL_FINGER_WIDTH = 330  # px at 500 ppi: a 16-17 mm fingertip
TIP_HEIGHT_RATIO = 1.6
MIN_RIDGE_COHERENCE = 0.35

HANDS = {
    "right": CaptureKind.SLAP_RIGHT_FOUR,
    "left": CaptureKind.SLAP_LEFT_FOUR,
    "thumbs": CaptureKind.SLAP_THUMBS,
}


@dataclass(frozen=True)
class SegmentedFinger:
    position: FingerPosition
    box: tuple[int, int, int, int]  # x, y, w, h


@dataclass(frozen=True)
class Segmentation:
    fingers: tuple[SegmentedFinger, ...]
    ok: bool
    reason: str | None


def _foreground(image: ImageU8) -> npt.NDArray[np.uint8]:
    gray = cv2.GaussianBlur(image, (0, 0), 1.0)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    energy = cv2.GaussianBlur(cv2.magnitude(gx, gy), (0, 0), 6.0)
    peak = float(energy.max()) or 1.0
    scaled = np.clip(energy * (255.0 / peak), 0, 255).astype(np.uint8)
    _, mask = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((9, 9), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    return np.asarray(mask, dtype=np.uint8)


def _split_wide(
    mask: npt.NDArray[np.uint8], box: tuple[int, int, int, int], parts: int
) -> list[tuple[int, int, int, int]]:
    """Split a blob of ``parts`` touching fingers at its column-profile valleys."""
    x, y, w, h = box
    # Fingertips touch less than the bases: profile the top half of the blob.
    region = mask[y : y + max(h // 2, 1), x : x + w] > 0
    profile = cv2.GaussianBlur(region.sum(axis=0).astype(np.float32).reshape(1, -1), (0, 0), 8)[0]
    cuts: list[int] = []
    step = w / parts
    for k in range(1, parts):
        lo, hi = int(step * (k - 0.4)), int(step * (k + 0.4))
        if hi <= lo:
            continue
        cuts.append(lo + int(np.argmin(profile[lo:hi])))
    edges = [0, *cuts, w]
    boxes = []
    for left, right in itertools.pairwise(edges):
        column = mask[y : y + h, x + left : x + right] > 0
        rows = np.nonzero(column.any(axis=1))[0]
        if len(rows):
            boxes.append((x + left, y + int(rows[0]), right - left, int(rows[-1] - rows[0] + 1)))
    return boxes


def _merge_stacked(blobs: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Join blobs stacked along one finger (phalanges split by a flexion crease).

    Two blobs belong to one finger when their column ranges overlap by more than
    half of the narrower one; the union box keeps the fingertip at its top.
    """
    merged: list[tuple[int, int, int, int]] = []
    for blob in sorted(blobs, key=lambda b: b[1]):
        x, y, w, h = blob
        for index, (mx, my, mw, mh) in enumerate(merged):
            overlap = min(x + w, mx + mw) - max(x, mx)
            if overlap > 0.5 * min(w, mw):
                left, top = min(x, mx), min(y, my)
                right, bottom = max(x + w, mx + mw), max(y + h, my + mh)
                merged[index] = (left, top, right - left, bottom - top)
                break
        else:
            merged.append(blob)
    return merged


def _has_ridges(image: ImageU8, box: tuple[int, int, int, int]) -> bool:
    from appliance.finger.quality import ridge_presence

    x, y, w, h = box
    if w * h > 0.6 * image.size:  # one blob covering the platen is noise, not a finger
        return False
    coherence, blocks = ridge_presence(image[y : y + h, x : x + w])
    return blocks >= 8 and coherence >= MIN_RIDGE_COHERENCE


def segment_slap(image: ImageU8, expected: int, hand: str | None = None) -> Segmentation:
    """Find ``expected`` fingertips in a slap image (grayscale, 500 ppi)."""
    if image.ndim != 2:
        raise ValueError("expected a grayscale image")
    mask = _foreground(image)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    blobs = [
        (int(stats[i, 0]), int(stats[i, 1]), int(stats[i, 2]), int(stats[i, 3]))
        for i in range(1, count)
        if stats[i, cv2.CC_STAT_AREA] >= MIN_FINGER_AREA
    ]
    blobs = _merge_stacked([b for b in blobs if _has_ridges(image, b)])
    if not blobs:
        return Segmentation((), False, "no fingers found (blank or noise-only image)")
    singles = [b[2] for b in blobs if b[2] < 1.4 * NOMINAL_FINGER_WIDTH]
    width = float(np.median(singles)) if singles else float(NOMINAL_FINGER_WIDTH)
    width = max(width, 0.75 * NOMINAL_FINGER_WIDTH)
    boxes: list[tuple[int, int, int, int]] = []
    for blob in blobs:
        parts = max(1, round(blob[2] / width))
        boxes.extend(_split_wide(mask, blob, parts) if parts > 1 else [blob])
    boxes.sort(key=lambda b: b[0] + b[2] / 2)
    tips = [(x, y, w, min(h, int(w * TIP_HEIGHT_RATIO))) for x, y, w, h in boxes]
    kind = HANDS.get(hand or "")
    layout = SLAP_LAYOUT[kind][1] if kind else ()
    positions = _assign_positions(tips, layout, expected)
    fingers = tuple(SegmentedFinger(p, t) for p, t in zip(positions, tips, strict=True))
    if len(fingers) != expected:
        return Segmentation(
            fingers,
            False,
            f"found {len(fingers)} finger(s), expected {expected}: re-capture "
            "(place fingers flat and apart)",
        )
    return Segmentation(fingers, True, None)


def _assign_positions(
    tips: list[tuple[int, int, int, int]], layout: tuple[FingerPosition, ...], expected: int
) -> list[FingerPosition]:
    if not layout:
        return [FingerPosition.UNKNOWN] * len(tips)
    if len(tips) == len(layout):
        return list(layout)
    # Fewer fingers than the hand has (declared missing): keep left-to-right order.
    return [layout[min(i, len(layout) - 1)] for i in range(len(tips))]
