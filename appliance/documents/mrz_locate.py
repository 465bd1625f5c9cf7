"""Find the MRZ band in a photo: text lines from a DBNet detector, long thin
lines stacked at a regular spacing, each cut out and deskewed on its own.

Works on a raw photo of a card or passport page (any position, rotated up to
about 40 degrees, with perspective) and on a tight crop of the band. Each line
is warped from its own rotated rectangle, so a perspective that changes the
slant from line to line is followed line by line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from appliance.documents.mrz_ocr import onnx_session
from drivers.interfaces import ImageU8

DET_LIMIT = 960  # long side of the detector's input
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)
MIN_ASPECT = 9.0  # an MRZ line is at least ~20 times longer than high; perspective halves it


@dataclass(frozen=True)
class TextLine:
    """A detected line: centre, length along the text, thickness, angle (radians)."""

    cx: float
    cy: float
    length: float
    thickness: float
    angle: float  # direction of reading, in (-pi/2, pi/2]
    score: float

    @property
    def aspect(self) -> float:
        return self.length / max(1.0, self.thickness)

    def corners(self, pad_along: float = 0.0, pad_across: float = 0.0) -> npt.NDArray[np.float32]:
        """Top-left, top-right, bottom-right, bottom-left, padded by the given pixels."""
        ux, uy = math.cos(self.angle), math.sin(self.angle)
        vx, vy = -uy, ux
        half_l = self.length / 2 + pad_along
        half_t = self.thickness / 2 + pad_across
        c = np.array([self.cx, self.cy])
        u, v = np.array([ux, uy]), np.array([vx, vy])
        return np.array(
            [
                c - u * half_l - v * half_t,
                c + u * half_l - v * half_t,
                c + u * half_l + v * half_t,
                c - u * half_l + v * half_t,
            ],
            dtype=np.float32,
        )

    def normal_offset(self, other: TextLine) -> float:
        """Distance of ``other``'s centre from this line, across the text."""
        return -(other.cx - self.cx) * math.sin(self.angle) + (other.cy - self.cy) * math.cos(
            self.angle
        )

    def along_offset(self, other: TextLine) -> float:
        return (other.cx - self.cx) * math.cos(self.angle) + (other.cy - self.cy) * math.sin(
            self.angle
        )


class TextDetector:
    """PaddleOCR's DBNet text detector (PP-OCRv4, ONNX): a probability map of text."""

    def __init__(self, model: Path, threads: int = 1) -> None:
        self._session = onnx_session(model, threads)
        self._input = self._session.get_inputs()[0].name  # type: ignore[attr-defined]

    def probability(
        self, image: ImageU8, limit: int = DET_LIMIT
    ) -> tuple[npt.NDArray[np.float32], float, float]:
        """The text probability map and the (x, y) factors back to ``image``."""
        height, width = image.shape[:2]
        scale = min(1.0, limit / max(height, width))
        new_h = max(32, round(height * scale / 32) * 32)
        new_w = max(32, round(width * scale / 32) * 32)
        resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
        tensor = ((resized.astype(np.float32) / 255.0 - _MEAN) / _STD).transpose(2, 0, 1)[None]
        prob = self._session.run(None, {self._input: tensor})[0][0, 0]  # type: ignore[attr-defined]
        return np.asarray(prob, dtype=np.float32), width / new_w, height / new_h

    def lines(self, image: ImageU8, limit: int = DET_LIMIT) -> list[TextLine]:
        prob, fx, fy = self.probability(image, limit)
        return lines_from_map(prob, fx, fy)


def lines_from_map(
    prob: npt.NDArray[np.float32],
    fx: float,
    fy: float,
    threshold: float = 0.3,
    min_score: float = 0.5,
    unclip: float = 1.5,
) -> list[TextLine]:
    """DB post-processing: binarise, one rotated rectangle per blob, grow it back
    by the shrink the network was trained with (``unclip``)."""
    binary = (prob > threshold).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    found: list[TextLine] = []
    for contour in contours:
        if len(contour) < 4:
            continue
        (cx, cy), (w, h), deg = cv2.minAreaRect(contour)
        if min(w, h) < 2:
            continue
        x, y, bw, bh = cv2.boundingRect(contour)
        mask = np.zeros((bh, bw), np.uint8)
        cv2.drawContours(mask, [contour - np.array([x, y])], -1, 1, -1)
        score = float(prob[y : y + bh, x : x + bw][mask > 0].mean())
        if score < min_score:
            continue
        grow = w * h * unclip / (2 * (w + h))
        w, h = w + 2 * grow, h + 2 * grow
        angle = math.radians(deg)
        if h > w:  # make the long side the reading direction
            w, h, angle = h, w, angle + math.pi / 2
        angle = (angle + math.pi / 2) % math.pi - math.pi / 2
        # back to image pixels (the detector's input was resized anisotropically)
        ux, uy = math.cos(angle), math.sin(angle)
        length = w * math.hypot(ux * fx, uy * fy)
        thickness = h * math.hypot(-uy * fx, ux * fy)
        real_angle = math.atan2(uy * fy, ux * fx)
        found.append(TextLine(cx * fx, cy * fy, length, thickness, real_angle, score))
    return found


def crop_line(
    image: ImageU8, line: TextLine, pad_along: float = 0.9, pad_across: float = 0.12
) -> ImageU8:
    """The line, deskewed, with margins (in units of its thickness) so that
    characters at both ends are not cut."""
    pad_l = pad_along * line.thickness
    pad_t = pad_across * line.thickness
    source = line.corners(pad_l, pad_t)
    width = round(line.length + 2 * pad_l)
    height = round(line.thickness + 2 * pad_t)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    out = cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return np.ascontiguousarray(out, dtype=np.uint8)


def _span(base: TextLine, line: TextLine) -> tuple[float, float]:
    """Start and end of ``line`` along ``base``'s direction, from ``base``'s centre."""
    centre = base.along_offset(line)
    half = line.length / 2 * abs(math.cos(line.angle - base.angle))
    return centre - half, centre + half


def _rebuilt(
    base: TextLine, normal: float, start: float, end: float, thickness: float, score: float
) -> TextLine:
    ux, uy = math.cos(base.angle), math.sin(base.angle)
    mid = (start + end) / 2
    cx = base.cx + ux * mid - uy * normal
    cy = base.cy + uy * mid + ux * normal
    return TextLine(cx, cy, end - start, thickness, base.angle, score)


def merge_collinear(lines: list[TextLine], max_gap: float = 12.0) -> list[TextLine]:
    """Join pieces of one line that the detector split (it often loses a run of
    fillers, whose glyphs are lower than capitals, or a glare spot): parallel,
    on the same axis, separated by a bounded gap (in line thicknesses)."""
    pending = sorted(lines, key=lambda line: -line.length)
    merged: list[TextLine] = []
    while pending:
        base = pending.pop(0)
        changed = True
        while changed:
            changed = False
            for other in list(pending):
                if abs(math.remainder(other.angle - base.angle, math.pi)) > math.radians(5):
                    continue
                if abs(base.normal_offset(other)) > 0.45 * base.thickness:
                    continue
                if not 0.4 < other.thickness / base.thickness < 2.5:
                    continue
                a0, a1 = _span(base, base)
                b0, b1 = _span(base, other)
                gap = max(b0 - a1, a0 - b1)
                if gap > max_gap * base.thickness:
                    continue
                pending.remove(other)
                normal = base.normal_offset(other) * other.length / (base.length + other.length)
                base = _rebuilt(
                    base,
                    normal,
                    min(a0, b0),
                    max(a1, b1),
                    base.thickness,
                    min(base.score, other.score),
                )
                changed = True
        merged.append(base)
    return merged


def aligned(window: list[TextLine]) -> list[TextLine]:
    """The lines of one MRZ start and end together: give each the union of
    their extents along the text, keeping its own axis and thickness."""
    base = window[0]
    spans = [_span(base, line) for line in window]
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    out = []
    for line in window:
        own = _rebuilt(base, base.normal_offset(line), start, end, line.thickness, line.score)
        out.append(TextLine(own.cx, own.cy, own.length, own.thickness, line.angle, line.score))
    return out


def mrz_groups(lines: list[TextLine], min_aspect: float = MIN_ASPECT) -> list[list[TextLine]]:
    """Runs of 2-3+ long lines, parallel, stacked at a regular spacing, of
    similar length, in reading order (top line first)."""
    long_lines = [line for line in merge_collinear(lines) if line.aspect >= min_aspect]
    groups: list[list[TextLine]] = []
    used: set[int] = set()
    order = sorted(range(len(long_lines)), key=lambda i: long_lines[i].cy)
    for i in order:
        if i in used:
            continue
        group = [long_lines[i]]
        used.add(i)
        while True:
            last = group[-1]
            best: tuple[float, int] | None = None
            for j in order:
                if j in used:
                    continue
                other = long_lines[j]
                offset = last.normal_offset(other)
                if not (0.8 * last.thickness < offset < 2.8 * last.thickness):
                    continue
                if abs(math.remainder(other.angle - last.angle, math.pi)) > math.radians(6):
                    continue
                if not 0.4 < other.length / last.length < 2.5:
                    continue
                # the lines of an MRZ are left-aligned
                if abs(_span(last, other)[0] - _span(last, last)[0]) > 3 * last.thickness:
                    continue
                if best is None or offset < best[0]:
                    best = (offset, j)
            if best is None:
                break
            group.append(long_lines[best[1]])
            used.add(best[1])
        groups.append(group)
    return groups


def extend_right(line: TextLine, length: float) -> TextLine:
    """``line`` with the same start, lengthened to ``length`` along its direction."""
    if length <= line.length:
        return line
    shift = (length - line.length) / 2
    cx = line.cx + math.cos(line.angle) * shift
    cy = line.cy + math.sin(line.angle) * shift
    return TextLine(cx, cy, length, line.thickness, line.angle, line.score)
