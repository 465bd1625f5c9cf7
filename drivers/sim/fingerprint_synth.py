"""Synthetic 500 ppi fingerprints, SFinGe-style (Cappelli, Maio, Maltoni).

A master fingerprint is grown from noise by iterative Gabor filtering steered
by an orientation field (Sherlock-Monro zero-pole model around cores and
deltas, or an analytic arch) and a ridge-frequency map, inside a fingertip
mask. Masters are deterministic per (subject, finger), so the same finger
matches across impressions; each impression adds displacement, rotation, a
smooth elastic distortion, pressure and sensor noise. Defects (dry, wet,
blurred, partial, blank, noise-only) degrade an impression the way real
captures degrade. Slaps place four fingers (or two thumbs) on a platen with
realistic geometry.

No real fingerprint is used anywhere: every image is generated here.
"""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from drivers.interfaces import SLAP_LAYOUT, CaptureKind, FingerPosition, ImageU8

FloatArray = npt.NDArray[np.float32]

PPI = 500
_ORIENTATION_BINS = 16
_MASTER_SIZE = (320, 420)  # width, height of a fingertip at 500 ppi (16 x 21 mm)


class PatternClass(enum.StrEnum):
    ARCH = "arch"
    TENTED_ARCH = "tented_arch"
    LEFT_LOOP = "left_loop"
    RIGHT_LOOP = "right_loop"
    WHORL = "whorl"


@dataclass(frozen=True)
class FingerDefects:
    """How an impression is degraded. All 0 / False is a good capture."""

    dry: float = 0.0  # 0..1: broken, faint ridges
    wet: float = 0.0  # 0..1: merged, dark ridges
    blur: float = 0.0  # 0..1: motion/focus blur
    partial: float = 0.0  # 0..1: fraction of the fingertip off the platen
    pressure: float = 1.0  # 0.2..1.5: light to heavy press
    blank: bool = False  # nothing on the glass
    noise_only: bool = False  # sensor noise, no finger


@dataclass(frozen=True, eq=False)
class SlapImage:
    """A slap and the ground-truth box (x, y, w, h) of every finger present."""

    pixels: ImageU8
    fingers: tuple[tuple[FingerPosition, tuple[int, int, int, int]], ...]


def _f32(array: object) -> FloatArray:
    """OpenCV and numpy results as a typed float32 array (no copy when already float32)."""
    return np.asarray(array, dtype=np.float32)


# ------------------------------------------------------------------ master prints


def pattern_for(subject_seed: int, position: FingerPosition) -> PatternClass:
    """The pattern class of a subject's finger, with realistic class frequencies."""
    rng = np.random.default_rng([subject_seed, int(position), 17])
    right_hand = FingerPosition.RIGHT_THUMB <= position <= FingerPosition.RIGHT_LITTLE
    loop_towards_thumb = PatternClass.RIGHT_LOOP if right_hand else PatternClass.LEFT_LOOP
    loop_away = PatternClass.LEFT_LOOP if right_hand else PatternClass.RIGHT_LOOP
    # Roughly: 65 % loops (mostly ulnar), 30 % whorls, 5 % arches.
    classes = [
        loop_away,
        loop_towards_thumb,
        PatternClass.WHORL,
        PatternClass.ARCH,
        PatternClass.TENTED_ARCH,
    ]
    weights = [0.58, 0.07, 0.30, 0.03, 0.02]
    return classes[int(rng.choice(len(classes), p=weights))]


def _orientation_field(
    pattern: PatternClass, width: int, height: int, rng: np.random.Generator
) -> FloatArray:
    """Ridge orientation (radians, 0..pi) at every pixel."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    jitter = rng.uniform(-0.06, 0.06, size=4) * np.array([width, height, width, height])
    cx, cy = width * 0.5 + jitter[0], height * 0.42 + jitter[1]
    if pattern is PatternClass.ARCH:
        # Ridges flow across the finger and bulge upward in the middle.
        amplitude = rng.uniform(0.5, 0.9)
        bump = np.exp(-(((ys - height * 0.75) / (height * 0.45)) ** 2))
        theta = np.arctan(amplitude * bump * -np.sin((xs - cx) / width * math.pi))
        return _f32(np.mod(theta, math.pi))
    cores: list[complex] = []
    deltas: list[complex] = []
    spread = width * rng.uniform(0.22, 0.3)
    if pattern is PatternClass.TENTED_ARCH:
        cores = [complex(cx, cy)]
        deltas = [complex(cx + jitter[2] * 0.2, cy + height * rng.uniform(0.16, 0.22))]
    elif pattern is PatternClass.LEFT_LOOP:
        cores = [complex(cx, cy)]
        deltas = [complex(cx + spread, cy + height * rng.uniform(0.25, 0.32))]
    elif pattern is PatternClass.RIGHT_LOOP:
        cores = [complex(cx, cy)]
        deltas = [complex(cx - spread, cy + height * rng.uniform(0.25, 0.32))]
    else:  # whorl
        gap = height * rng.uniform(0.04, 0.08)
        cores = [complex(cx - gap * 0.3, cy - gap), complex(cx + gap * 0.3, cy + gap)]
        deltas = [
            complex(cx - spread * 1.1, cy + height * 0.3),
            complex(cx + spread * 1.1, cy + height * 0.3),
        ]
    z = xs + 1j * ys
    theta = np.zeros_like(xs)
    # Image rows grow downwards, which mirrors the model's handedness: cores add, deltas subtract.
    for c in cores:
        theta += np.angle(z - c)
    for d in deltas:
        theta -= np.angle(z - d)
    theta = 0.5 * theta
    return _f32(np.mod(theta, math.pi))


@functools.lru_cache(maxsize=4)
def _gabor_bank(period: float) -> tuple[FloatArray, ...]:
    kernels = []
    size = int(period * 2.2) | 1
    for i in range(_ORIENTATION_BINS):
        # cv2's theta is the normal to the stripes; the ridge runs along angle + pi/2.
        angle = i * math.pi / _ORIENTATION_BINS + math.pi / 2
        kernel = _f32(cv2.getGaborKernel((size, size), period * 0.45, angle, period, 1.0, 0.0))
        kernel = kernel - kernel.mean()
        kernels.append(_f32(kernel / np.abs(kernel).sum()))
    return tuple(kernels)


def _fingertip_mask(width: int, height: int, rng: np.random.Generator) -> FloatArray:
    """A soft fingertip silhouette: round top, straight-ish sides, open bottom."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    rx = width * rng.uniform(0.42, 0.47)
    ry_top = height * rng.uniform(0.40, 0.46)
    cx, cy = width / 2.0, height * 0.5
    upper = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry_top) ** 2 <= 1.0
    lower = (np.abs(xs - cx) <= rx * (1.0 - 0.12 * (ys - cy) / height)) & (ys >= cy)
    mask = (upper | lower).astype(np.float32)
    # The finger lifts off the platen towards the first crease: fade the bottom out.
    fade = np.clip((height * 0.97 - ys) / (height * 0.22), 0.0, 1.0)
    return _f32(cv2.GaussianBlur(mask * fade, (0, 0), 3.0))


@functools.lru_cache(maxsize=64)
def _master(subject_seed: int, position: int) -> tuple[FloatArray, FloatArray]:
    """Ridge pattern in [-1, 1] and the fingertip mask of one finger."""
    rng = np.random.default_rng([subject_seed, position, 1])
    width, height = _MASTER_SIZE
    if position in (FingerPosition.RIGHT_THUMB, FingerPosition.LEFT_THUMB):
        width = int(width * 1.15)
    elif position in (FingerPosition.RIGHT_LITTLE, FingerPosition.LEFT_LITTLE):
        width, height = int(width * 0.82), int(height * 0.85)
    pattern = pattern_for(subject_seed, FingerPosition(position))
    theta = _orientation_field(pattern, width, height, rng)
    period = float(rng.uniform(8.5, 10.5))  # ridge period in pixels at 500 ppi
    bank = _gabor_bank(period)
    bins = np.round(theta / math.pi * _ORIENTATION_BINS).astype(np.int32) % _ORIENTATION_BINS
    image = (rng.random((height, width), dtype=np.float32) - 0.5) * 0.2
    used = [i for i in range(_ORIENTATION_BINS) if (bins == i).any()]
    index = np.searchsorted(np.array(used), bins)[None]
    for _ in range(8):
        stack = np.stack(
            [cv2.filter2D(image, -1, bank[i], borderType=cv2.BORDER_REFLECT) for i in used]
        )
        out = np.take_along_axis(stack, index, axis=0)[0]
        image = np.tanh(out * 2.0 / (np.abs(out).mean() + 1e-6)).astype(np.float32)
    mask = _fingertip_mask(width, height, rng)
    return image, mask


def prepare_subject(subject_seed: int) -> None:
    """Synthesise (and cache) the ten ridge patterns of one subject ahead of its captures."""
    for position in FingerPosition:
        if 1 <= int(position) <= 10:
            _master(subject_seed, int(position))


# -------------------------------------------------------------------- impressions


def _elastic(
    image: FloatArray, mask: FloatArray, rng: np.random.Generator, strength: float
) -> tuple[FloatArray, FloatArray]:
    height, width = image.shape
    angle = rng.uniform(-8.0, 8.0)
    shift = rng.uniform(-6.0, 6.0, size=2)
    matrix = np.asarray(cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0), np.float64)
    matrix[:, 2] += shift
    dx = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 25)
    dy = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 25)
    scale = strength / (np.abs(dx).max() + 1e-6)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    inv = cv2.invertAffineTransform(matrix)
    map_x = (inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2] + dx * scale).astype(np.float32)
    map_y = (inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2] + dy * scale).astype(np.float32)
    warped = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    warped_mask = cv2.remap(mask, map_x, map_y, cv2.INTER_LINEAR, borderValue=0.0)
    return _f32(warped), _f32(warped_mask)


def _render(
    ridges: FloatArray, mask: FloatArray, defects: FingerDefects, rng: np.random.Generator
) -> FloatArray:
    """Ridges in [-1, 1] + contact mask -> darkness in [0, 1] (1 = black ridge)."""
    height, width = ridges.shape
    ink = (ridges + 1.0) / 2.0  # 1 on ridge crests
    pressure = float(np.clip(defects.pressure, 0.2, 1.5))
    contact = mask * np.clip(
        0.75
        + 0.25
        * cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 30)
        * 3,
        0.3,
        1.0,
    )
    threshold = 0.55 - 0.15 * (pressure - 1.0)
    dark = np.clip((ink - threshold) * 4.0 + 0.5, 0.0, 1.0)
    if defects.dry > 0:
        speckle = cv2.GaussianBlur(rng.random((height, width), dtype=np.float32), (0, 0), 2.0)
        broken = speckle < (0.35 + 0.3 * defects.dry)
        dark = np.where(broken, dark * (1.0 - 0.9 * defects.dry), dark)
        dark *= 1.0 - 0.45 * defects.dry
    if defects.wet > 0:
        merged = cv2.GaussianBlur(dark, (0, 0), 1.5 + 3.0 * defects.wet)
        dark = np.clip(dark * (1 - defects.wet) + (merged + 0.5 * defects.wet) * defects.wet, 0, 1)
    dark = dark * contact * min(pressure, 1.0) ** 0.5
    if defects.partial > 0:
        cut = int(height * (1.0 - np.clip(defects.partial, 0.0, 0.95)))
        fade = np.ones(height, dtype=np.float32)
        fade[cut:] = 0.0
        dark = dark * cv2.GaussianBlur(fade[:, None], (1, 0), 4)[:, :1]
    if defects.blur > 0:
        dark = cv2.GaussianBlur(dark, (0, 0), 0.5 + 4.0 * defects.blur)
    return _f32(dark)


def _to_gray(dark: FloatArray, rng: np.random.Generator, noise: float = 4.0) -> ImageU8:
    background = 235.0 + rng.uniform(-8, 8)
    gray = background - dark * rng.uniform(170, 200)
    gray = gray + rng.normal(0.0, noise, size=gray.shape)
    return np.clip(gray, 0, 255).astype(np.uint8)


def _impression_dark(
    subject_seed: int, position: FingerPosition, impression: int, defects: FingerDefects
) -> FloatArray:
    ridges, mask = _master(subject_seed, int(position))
    rng = np.random.default_rng([subject_seed, int(position), impression, 2])
    ridges, mask = _elastic(ridges, mask, rng, strength=3.0)
    return _render(ridges, mask, defects, rng)


def synthesize_finger(
    subject_seed: int,
    position: FingerPosition,
    impression: int = 0,
    defects: FingerDefects = FingerDefects(),
    size: tuple[int, int] = (400, 500),
) -> ImageU8:
    """One flat fingerprint, ``size`` = (width, height) pixels at 500 ppi."""
    width, height = size
    rng = np.random.default_rng([subject_seed, int(position), impression, 3])
    canvas = np.zeros((height, width), dtype=np.float32)
    if defects.noise_only:
        return np.clip(rng.normal(128, 60, size=(height, width)), 0, 255).astype(np.uint8)
    if not defects.blank:
        dark = _impression_dark(subject_seed, position, impression, defects)
        _paste(
            canvas,
            dark,
            width // 2 + int(rng.integers(-15, 16)),
            height // 2 + int(rng.integers(-15, 16)),
        )
    return _to_gray(canvas, rng)


def _paste(canvas: FloatArray, patch: FloatArray, cx: int, cy: int) -> tuple[int, int, int, int]:
    """Max-blend ``patch`` centred at (cx, cy); return the clipped (x, y, w, h) it covers."""
    ph, pw = patch.shape
    x0, y0 = cx - pw // 2, cy - ph // 2
    x1, y1 = max(x0, 0), max(y0, 0)
    x2, y2 = min(x0 + pw, canvas.shape[1]), min(y0 + ph, canvas.shape[0])
    if x2 <= x1 or y2 <= y1:
        return (0, 0, 0, 0)
    region = canvas[y1:y2, x1:x2]
    np.maximum(region, patch[y1 - y0 : y2 - y0, x1 - x0 : x2 - x0], out=region)
    return (x1, y1, x2 - x1, y2 - y1)


def _rotate(patch: FloatArray, angle: float) -> FloatArray:
    height, width = patch.shape
    diagonal = int(math.hypot(width, height)) + 2
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    matrix[:, 2] += ((diagonal - width) / 2, (diagonal - height) / 2)
    return _f32(cv2.warpAffine(patch, matrix, (diagonal, diagonal), flags=cv2.INTER_LINEAR))


def _tight_box(patch: FloatArray, x: int, y: int) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(patch > 0.08)
    if len(xs) == 0:
        return (x, y, 0, 0)
    return (
        x + int(xs.min()),
        y + int(ys.min()),
        int(xs.max() - xs.min() + 1),
        int(ys.max() - ys.min() + 1),
    )


def slap_size(kind: CaptureKind) -> tuple[int, int]:
    """(width, height) of a synthetic slap image: 3.2 x 3.0 in (thumbs 3.2 x 2.0) at 500 ppi."""
    return (1600, 1000) if kind is CaptureKind.SLAP_THUMBS else (1600, 1500)


def synthesize_slap(
    subject_seed: int,
    kind: CaptureKind,
    impression: int = 0,
    missing: frozenset[FingerPosition] = frozenset(),
    defects: FingerDefects = FingerDefects(),
    touching: bool = False,
) -> SlapImage:
    """A plain slap: four fingers of one hand, or both thumbs, at 500 ppi."""
    if kind not in SLAP_LAYOUT:
        raise ValueError(f"{kind} is not a slap")
    _, fingers = SLAP_LAYOUT[kind]
    rng = np.random.default_rng([subject_seed, int(SLAP_LAYOUT[kind][0]), impression, 4])
    thumbs = kind is CaptureKind.SLAP_THUMBS
    width, height = slap_size(kind)
    canvas = np.zeros((height, width), dtype=np.float32)
    if defects.noise_only:
        noise = rng.normal(128, 60, size=(height, width))
        return SlapImage(np.clip(noise, 0, 255).astype(np.uint8), ())
    if defects.blank:
        return SlapImage(_to_gray(canvas, rng), ())
    right = kind is CaptureKind.SLAP_RIGHT_FOUR
    hand_tilt = (-1.0 if right else 1.0) * rng.uniform(4.0, 14.0)
    spacing = rng.uniform(300, 330) if touching else rng.uniform(360, 410)
    if thumbs:
        spacing = rng.uniform(640, 760) if not touching else rng.uniform(330, 360)
    count = len(fingers)
    start_x = width / 2 - spacing * (count - 1) / 2 + rng.uniform(-40, 40)
    # Middle finger highest; little finger lowest (image order is left to right).
    heights_right = [0.36, 0.30, 0.34, 0.50]
    heights = heights_right if right else list(reversed(heights_right))
    boxes: list[tuple[FingerPosition, tuple[int, int, int, int]]] = []
    for index, position in enumerate(fingers):
        if position in missing:
            continue
        dark = _impression_dark(subject_seed, position, impression * 10 + 5, defects)
        if thumbs:
            angle = (18.0 if index == 0 else -18.0) + rng.uniform(-5, 5)
            cy = height * 0.5 + rng.uniform(-40, 40)
        else:
            angle = hand_tilt + (index - 1.5) * (-5.0 if right else 5.0) + rng.uniform(-3, 3)
            cy = height * heights[index] + rng.uniform(-30, 30)
        rotated = _rotate(dark, angle)
        cx = int(start_x + index * spacing + rng.uniform(-15, 15))
        x0, y0 = cx - rotated.shape[1] // 2, int(cy) - rotated.shape[0] // 2
        _paste(canvas, rotated, cx, int(cy))
        box = _tight_box(rotated, x0, y0)
        bx, by = max(box[0], 0), max(box[1], 0)
        bw = min(box[0] + box[2], width) - bx
        bh = min(box[1] + box[3], height) - by
        boxes.append((position, (bx, by, bw, bh)))
    return SlapImage(_to_gray(canvas, rng), tuple(boxes))
