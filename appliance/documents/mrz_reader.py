"""The MRZ reader: photo in, verdict and parsed fields out.

``MrzReader(models_dir).read(image)`` finds the band (:mod:`.mrz_locate`),
reads each line (:mod:`.mrz_ocr`), fixes the geometry from the number of
lines and their length, repairs characters only where the position's type
allows, parses and validates (:mod:`.mrz_parse`). A reading whose least
certain character is below :data:`MIN_CONFIDENCE` is reported ``unreadable``
rather than risked as a confident wrong reading.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from appliance.documents import mrz_models
from appliance.documents.mrz_locate import (
    TextDetector,
    TextLine,
    aligned,
    crop_line,
    extend_right,
    mrz_groups,
)
from appliance.documents.mrz_ocr import (
    LineReading,
    LineRecognizer,
    place,
    position_scores,
    vote,
)
from appliance.documents.mrz_parse import POSITION_TYPES, MrzFormatError, MrzRecord, parse
from drivers.interfaces import ImageU8

logger = logging.getLogger(__name__)

MAX_SIDE = 2000  # photos are reduced to this long side before anything else
MIN_CONFIDENCE = 0.35
#: A line read by the main crop alone whose every character leads by this much is
#: kept without reading the other crops, when every check digit holds.
SURE = 0.9
LENGTHS = {3: (30,), 2: (36, 44)}
#: line crops read and voted: margins along and across the line, in line thicknesses
#: (recogniser, margin along, margin across): 0 = the main recogniser, 1 = the second
VARIANTS = ((0, 0.9, 0.0), (0, 1.4, 0.1), (1, 0.9, -0.1))
PAD_ALONG = VARIANTS[0][1]


@dataclass(frozen=True)
class MrzResult:
    verdict: str  # valid | check_digit | expired | unreadable
    record: MrzRecord | None
    confidence: float  # probability of the least certain character, 0 when nothing was read
    reason: str = ""  # why unreadable: no_mrz, low_confidence, bad_layout
    band: tuple[tuple[float, float], ...] = ()  # corners of the MRZ band in the input image
    repaired: tuple[str, ...] = field(default=())  # "line:position" changed by the type rule

    @property
    def failed_checks(self) -> tuple[str, ...]:
        return self.record.failed_checks if self.record and self.verdict != "unreadable" else ()

    def as_json(self) -> dict[str, Any]:
        """``verdict``, ``mrz`` and ``failed_checks`` of the ``doc-check`` contract."""
        readable = self.record is not None and self.verdict != "unreadable"
        return {
            "verdict": self.verdict,
            "mrz": self.record.fields_json() if readable and self.record else None,
            "failed_checks": list(self.failed_checks),
        }


@dataclass(frozen=True)
class _Candidate:
    lines: tuple[str, ...]
    confidence: float
    repaired: tuple[str, ...]
    band: tuple[tuple[float, float], ...]
    geometry: tuple[TextLine, ...]  # the lines as finally read, in the prepared image


class MrzReader:
    """Loads the detector and recognisers once; ``read`` is then pure per image.

    ``second`` (None to leave it out, as the bench's single-model baseline does)
    is a second recogniser whose reading is voted with the main one's.
    """

    def __init__(
        self,
        directory: Path | None = None,
        threads: int = 1,
        recogniser: str = mrz_models.RECOGNISER,
        second: str | None = mrz_models.BASELINE_RECOGNISER,
    ) -> None:
        self.detector = TextDetector(mrz_models.model_path(mrz_models.DETECTOR, directory), threads)
        self.recogniser = LineRecognizer(mrz_models.model_path(recogniser, directory), threads)
        self.recognisers: tuple[LineRecognizer, ...] = (self.recogniser,)
        if second is not None:
            self.recognisers += (LineRecognizer(mrz_models.model_path(second, directory), threads),)
        self._variants = [i for i, v in enumerate(VARIANTS) if v[0] < len(self.recognisers)]

    def read(self, image: ImageU8, today: date | None = None) -> MrzResult:
        today = today or date.today()
        image, factor, margin = _prepare(image)
        lines = self.detector.lines(image)
        best = self.best_candidate(image, lines)
        if best is None:
            return MrzResult("unreadable", None, 0.0, "no_mrz")
        band = tuple(((x - margin) / factor, (y - margin) / factor) for x, y in best.band)
        try:
            record = parse(best.lines, today)
        except MrzFormatError:
            return MrzResult("unreadable", None, best.confidence, "bad_layout", band)
        if best.confidence < MIN_CONFIDENCE:
            return MrzResult("unreadable", record, best.confidence, "low_confidence", band)
        return MrzResult(record.verdict(today), record, best.confidence, "", band, best.repaired)

    def best_candidate(self, image: ImageU8, lines: list[TextLine]) -> _Candidate | None:
        """The most confident reading among the line groups that look like an MRZ."""
        best: _Candidate | None = None
        cache: dict[tuple[int, ...], LineReading] = {}
        for group in mrz_groups(lines):
            # Windows come largest first (a TD1's three lines before any two of them):
            # a reading whose every check digit holds ends the search.
            for window in _windows(group):
                candidate = self._read_window(image, window, cache)
                if candidate is not None and (
                    best is None or candidate.confidence > best.confidence
                ):
                    best = candidate
                if (
                    best is not None
                    and best.confidence >= MIN_CONFIDENCE
                    and _checks_hold(best.lines)
                ):
                    return best
        return best

    def _read_lines(
        self,
        image: ImageU8,
        wanted: list[tuple[TextLine, int]],
        cache: dict[tuple[int, ...], LineReading],
    ) -> list[LineReading]:
        """Each (line, crop variant)'s reading; those not in ``cache`` are read at once.

        The recognisers run one inference per thread, and onnxruntime lets several
        threads run one session: the lines of an MRZ are read side by side, on as
        many cores as :func:`_line_pool` has.
        """
        keys = [_key(line, variant) for line, variant in wanted]
        missing = {key: item for key, item in zip(keys, wanted, strict=True) if key not in cache}
        if len(missing) == 1:
            ((key, (line, variant)),) = missing.items()
            cache[key] = self._recognise(image, line, variant)
        elif missing:
            readings = _line_pool().map(
                lambda item: self._recognise(image, *item), list(missing.values())
            )
            cache.update(zip(missing, readings, strict=True))
        return [cache[key] for key in keys]

    def _recognise(self, image: ImageU8, line: TextLine, variant: int) -> LineReading:
        model, pad_along, pad_across = VARIANTS[variant]
        return self.recognisers[model].read(crop_line(image, line, pad_along, pad_across))

    def _voted(
        self,
        image: ImageU8,
        rows: dict[int, TextLine],
        length: int,
        kind: str,
        cache: dict[tuple[int, ...], LineReading],
        variants: list[int],
    ) -> dict[int, tuple[str, tuple[float, ...]]]:
        """Each row's text voted over the crops ``variants``, and every position's lead."""
        wanted = [(line, v) for line in rows.values() for v in variants]
        readings = iter(self._read_lines(image, wanted, cache))
        voted: dict[int, tuple[str, tuple[float, ...]]] = {}
        for row in rows:
            types = POSITION_TYPES[kind][row]
            votes: list[list[dict[str, float]] | None] = []
            for _variant in variants:
                reading = next(readings)
                spot = place(reading, length)
                votes.append(None if spot is None else position_scores(reading, spot, types))
            voted[row] = vote(votes, length, types)
        return voted

    def _read_window(
        self, image: ImageU8, window: list[TextLine], cache: dict[tuple[int, ...], LineReading]
    ) -> _Candidate | None:
        lines = aligned(window)
        first = self._read_lines(image, [(line, 0) for line in lines], cache)
        # The detector often misses a run of fillers at the end of a line: while the
        # lines hold fewer characters than the longest geometry and the text runs
        # to the end of the crop, extend them to the right by the missing count at
        # the pitch of their end (a perspective makes it grow) and read again. An
        # MRZ line never starts with a filler, so the start stays.
        longest = max(LENGTHS[len(window)])
        for _ in range(3):
            missing = [
                (longest - len(r.text)) * pitch
                for r, line in zip(first, lines, strict=True)
                if (pitch := _end_pitch(r, line)) and len(r.text) < longest and _runs_to_end(r)
            ]
            if not missing:
                break
            lines = [extend_right(line, line.length + max(missing) * 1.1) for line in lines]
            first = self._read_lines(image, [(line, 0) for line in lines], cache)
        raw = sorted(len(r.text) for r in first)
        median = raw[len(raw) // 2]
        length = min(LENGTHS[len(window)], key=lambda n: abs(n - median))
        if abs(median - length) > max(4, length // 6):
            return None
        placed = [place(r, length) for r in first]
        if placed[0] is None or any(p is None for p in placed):
            return None
        kind = _kind(len(window), length, placed[0].text)
        # The main crop alone first. When every check digit holds, a line whose every
        # character leads by SURE is kept as read: only the other lines are read on the
        # other crops and voted. When a check digit fails, every line is voted.
        rows = dict(enumerate(lines))
        voted = self._voted(image, rows, length, kind, cache, self._variants[:1])
        if len(self._variants) > 1:
            holds = _checks_hold([text for text, _ in voted.values()])
            unsure = {row: rows[row] for row, (_, lead) in voted.items() if min(lead) < SURE}
            if holds and unsure:
                voted |= self._voted(image, unsure, length, kind, cache, self._variants)
                holds = _checks_hold([text for text, _ in voted.values()])
            if not holds:
                voted = self._voted(image, rows, length, kind, cache, self._variants)
        texts = [voted[row][0] for row in rows]
        leads = [lead for row in rows for lead in voted[row][1]]
        repaired = [
            f"{row + 1}:{i + 1}"
            for row, (own, text) in enumerate(zip(placed, texts, strict=True))
            if own is not None
            for i, (a, b) in enumerate(zip(own.text, text, strict=True))
            if a != b
        ]
        corners = np.concatenate([lines[0].corners()[:2], lines[-1].corners()[2:]])
        band = tuple((float(x), float(y)) for x, y in corners)
        return _Candidate(tuple(texts), min(leads), tuple(repaired), band, tuple(lines))


def _key(line: TextLine, variant: int) -> tuple[int, ...]:
    return (variant, round(line.cx), round(line.cy), round(line.length), round(line.thickness))


#: Lines read side by side: an MRZ has at most three, and a kiosk two to four cores.
LINE_THREADS = max(1, min(3, os.cpu_count() or 1))


@functools.cache
def _line_pool() -> concurrent.futures.ThreadPoolExecutor:
    """The process's threads for reading MRZ lines (shared by every reader, made once)."""
    return concurrent.futures.ThreadPoolExecutor(LINE_THREADS, thread_name_prefix="mrz-line")


def _checks_hold(texts: tuple[str, ...] | list[str]) -> bool:
    """Laid out as an MRZ and every check digit holds (dates are not judged here)."""
    try:
        return not parse(tuple(texts), date.today()).failed_checks
    except MrzFormatError:
        return False


def _end_pitch(reading: LineReading, line: TextLine) -> float | None:
    """Character pitch in image pixels at the end of the line."""
    if len(reading.peaks) < 6:
        return None
    columns = int(reading.probs.shape[0])
    width = line.length + 2 * PAD_ALONG * line.thickness
    return float(np.median(np.diff(reading.peaks[-7:]))) * width / columns


def _runs_to_end(reading: LineReading) -> bool:
    """The last character sits within three pitches of the crop's end."""
    pitch = float(np.median(np.diff(reading.peaks[-7:])))
    return bool(reading.probs.shape[0] - 1 - reading.peaks[-1] < 3 * pitch + PAD_ALONG * 6)


def _kind(rows: int, length: int, first_line: str) -> str:
    if rows == 3:
        return "TD1"
    visa = first_line.startswith("V")
    if length == 44:
        return "MRV-A" if visa else "TD3"
    return "MRV-B" if visa else "TD2"


def _windows(group: list[TextLine]) -> list[list[TextLine]]:
    """Three consecutive lines first (TD1), then two (TD2/TD3), bottom first."""
    found: list[list[TextLine]] = []
    for size in (3, 2):
        for start in range(len(group) - size, -1, -1):
            found.append(group[start : start + size])
    return found


def _prepare(original: ImageU8) -> tuple[ImageU8, float, int]:
    """BGR, long side at most MAX_SIDE, a margin so a tight crop is not cut."""
    image: Any = original
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    factor = min(1.0, MAX_SIDE / max(image.shape[:2]))
    if factor < 1.0:
        image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    margin = max(8, min(image.shape[:2]) // 10)
    fill = [int(v) for v in np.median(image.reshape(-1, 3)[:: max(1, image.size // 30000)], axis=0)]
    padded = cv2.copyMakeBorder(
        image, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=fill
    )
    return np.ascontiguousarray(padded, dtype=np.uint8), factor, margin
