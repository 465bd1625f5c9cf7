"""Read one MRZ line: a CTC recogniser restricted to the MRZ alphabet, characters
placed on the fixed OCR-B pitch, and confusions resolved only where the
position's type allows.

The recogniser (PaddleOCR PP-OCR, ONNX) outputs, for every column of the line
image, a probability per character of its table. We keep the blank and the 37
MRZ characters, decode greedily and remember at which column each character
peaked. An MRZ line has a known length and a fixed pitch, so when the decoder
merged or dropped characters (long filler runs, a smudge) the peak columns say
where each character sits and which positions are missing; a missing position
is read at its own column.

Type-aware repair: a position that only holds letters (names, codes) or only
digits (dates, check digits) takes the most probable character of its type at
that column -- a ``0`` in ``UT0`` becomes ``O``, an ``O`` in a date ``0``.
Positions that may hold either (document number, optional data) are never
changed, and no character is ever chosen to make a check digit pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from appliance.documents.mrz_parse import ALPHABET, FILLER
from drivers.interfaces import ImageU8

logger = logging.getLogger(__name__)

REC_HEIGHT = 48
MAX_REC_WIDTH = 2400
_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALLOWED = {
    "A": _LETTERS + FILLER,
    "N": _DIGITS + FILLER,
    "S": "MFX" + FILLER,
    "X": ALPHABET,
}
#: OCR-B look-alikes: a character of the wrong type becomes its twin of the right type
TO_DIGIT = {
    "O": "0",
    "Q": "0",
    "D": "0",
    "U": "0",
    "I": "1",
    "L": "1",
    "T": "1",
    "Z": "2",
    "S": "5",
    "G": "6",
    "B": "8",
}
TO_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}
Probs = npt.NDArray[np.float32]


def onnx_session(path: Path, threads: int = 1) -> object:
    """An onnxruntime session on the CPU, without its memory arena.

    The arena keeps the peak of every input shape seen (MRZ lines come in many
    widths, and lines are read side by side) for the life of the process: about
    350-430 MB on a counter photo's MRZ, where without it the same reads cost
    ~13 % more time and the memory goes back to the heap, which the daemon trims
    after each enrolment (:mod:`appliance.memory`).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@dataclass(frozen=True, eq=False)
class LineReading:
    """Greedy reading of one line with, per character, its peak column."""

    text: str
    peaks: tuple[int, ...]
    probs: Probs  # (columns, 38): blank, then ALPHABET; not renormalised

    def confidence(self, column: int, char: str) -> float:
        return float(self.probs[column, 1 + ALPHABET.index(char)])


class LineRecognizer:
    """A PP-OCR CTC recogniser whose output is cut down to the MRZ alphabet."""

    def __init__(self, model: Path, threads: int = 1) -> None:
        self._session = onnx_session(model, threads)
        table = self._session.get_modelmeta().custom_metadata_map["character"]  # type: ignore[attr-defined]
        characters = table.split("\n") if table else _dictionary_beside(model)
        try:
            self._columns = [0] + [characters.index(c) + 1 for c in ALPHABET]
        except ValueError as exc:
            raise ValueError(f"{model.name}: its character table lacks an MRZ character") from exc
        self._input = self._session.get_inputs()[0].name  # type: ignore[attr-defined]

    def read(self, line: ImageU8) -> LineReading:
        height, width = line.shape[:2]
        target = min(MAX_REC_WIDTH, max(REC_HEIGHT, round(REC_HEIGHT * width / max(1, height))))
        resized = cv2.resize(
            line,
            (target, REC_HEIGHT),
            interpolation=cv2.INTER_AREA if height > REC_HEIGHT else cv2.INTER_CUBIC,
        )
        if resized.ndim == 2:
            resized = cv2.cvtColor(resized, cv2.COLOR_GRAY2BGR)
        tensor = (resized.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
        out = self._session.run(None, {self._input: tensor})[0][0]  # type: ignore[attr-defined]
        probs = np.ascontiguousarray(out[:, self._columns], dtype=np.float32)
        return greedy(probs)


def _dictionary_beside(model: Path) -> list[str]:
    raise ValueError(f"{model.name} carries no character table in its metadata")


def greedy(probs: Probs) -> LineReading:
    """CTC greedy decoding; each character's column is where it peaked."""
    best = probs.argmax(axis=1)
    text: list[str] = []
    peaks: list[int] = []
    previous = 0
    for column, index in enumerate(best):
        if index != 0 and index == previous and peaks:
            if probs[column, index] > probs[peaks[-1], index]:
                peaks[-1] = column
        elif index != 0:
            text.append(ALPHABET[index - 1])
            peaks.append(column)
        previous = index
    return LineReading("".join(text), tuple(peaks), probs)


@dataclass(frozen=True)
class PlacedLine:
    """A line of exactly the expected length, with one confidence per position."""

    text: str
    confidences: tuple[float, ...]
    columns: tuple[int, ...]  # recogniser column of each position
    repaired: tuple[int, ...]  # positions changed by the type rule
    filled: tuple[int, ...]  # positions the decoder had dropped, read at their column


def place(reading: LineReading, length: int) -> PlacedLine | None:
    """Put the characters on ``length`` positions by their peak columns; None when
    they do not fit (the line is not readable as such).

    The pitch is measured locally (a perspective makes it grow along the line):
    a step of about two pitches between two peaks is a dropped character, read
    again at its own column. Positions after the last character (fillers the
    crop or the decoder lost) are read where the pitch puts them.
    """
    chars, peaks = _split_glyphs_joined(reading)
    if len(chars) == length:
        columns = [int(p) for p in peaks]
        return PlacedLine(chars, _confs(reading, chars, columns), tuple(columns), (), ())
    if len(chars) < max(8, length // 3):
        return None
    diffs = np.diff(peaks)
    base = float(np.median(diffs))
    if base <= 0:
        return None
    usable = np.where(diffs <= 1.5 * base, diffs, np.nan)
    local = np.array([_nanmedian(usable[max(0, i - 4) : i + 5], base) for i in range(len(diffs))])
    steps = np.maximum(1, np.round(diffs / local)).astype(int)
    positions = np.concatenate([[0], np.cumsum(steps)])
    if positions[-1] >= length:
        return None
    text = [""] * length
    columns = [0] * length
    for pos, char, peak in zip(positions, chars, peaks, strict=True):
        text[pos], columns[pos] = char, int(peak)
    for i in range(len(positions) - 1):
        a, b, col_a, col_b = int(positions[i]), int(positions[i + 1]), peaks[i], peaks[i + 1]
        for k in range(1, b - a):
            columns[a + k] = round(col_a + (col_b - col_a) * k / (b - a))
    last_pitch = float(local[-1]) if len(local) else base
    for k, pos in enumerate(range(positions[-1] + 1, length), start=1):
        columns[pos] = round(float(peaks[-1]) + k * last_pitch)
    last_column = reading.probs.shape[0] - 1
    filled: list[int] = []
    for pos in range(length):
        if text[pos]:
            continue
        filled.append(pos)
        if columns[pos] > last_column:  # beyond the crop: no evidence at all
            text[pos], columns[pos] = FILLER, last_column
            continue
        text[pos] = ALPHABET[int(reading.probs[columns[pos], 1:].argmax())]
    joined = "".join(text)
    return PlacedLine(joined, _confs(reading, joined, columns), tuple(columns), (), tuple(filled))


def _split_glyphs_joined(reading: LineReading) -> tuple[str, npt.NDArray[np.float64]]:
    """Two characters peaking much closer than the pitch are one glyph the
    decoder read twice (``1`` then ``I``): keep the more probable one."""
    chars, peaks = list(reading.text), [float(p) for p in reading.peaks]
    if len(peaks) < 3:
        return "".join(chars), np.asarray(peaks)
    base = float(np.median(np.diff(peaks)))
    i = 0
    while i < len(peaks) - 1:
        if peaks[i + 1] - peaks[i] < 0.45 * base:
            first = reading.confidence(int(peaks[i]), chars[i])
            second = reading.confidence(int(peaks[i + 1]), chars[i + 1])
            drop = i if first < second else i + 1
            del chars[drop], peaks[drop]
            continue
        i += 1
    return "".join(chars), np.asarray(peaks)


def _nanmedian(values: npt.NDArray[np.float64], default: float) -> float:
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else default


def _confs(reading: LineReading, text: str, columns: list[int]) -> tuple[float, ...]:
    return tuple(reading.confidence(col, ch) for col, ch in zip(columns, text, strict=True))


def repair(
    reading: LineReading, placed: PlacedLine, types: str, min_prob: float = 1e-3
) -> PlacedLine:
    """Replace characters that their position's type forbids: by their OCR-B
    look-alike of the right type, else by the most probable allowed character at
    that column if the model gives it any weight. Type X positions never change.
    """
    text = list(placed.text)
    confs = list(placed.confidences)
    changed: list[int] = []
    last = reading.probs.shape[0] - 1
    for pos, (char, kind) in enumerate(zip(placed.text, types, strict=True)):
        allowed = ALLOWED[kind]
        if char in allowed:
            continue
        twin = (TO_DIGIT if kind == "N" else TO_LETTER if kind == "A" else {}).get(char)
        if twin is not None:
            text[pos] = twin
            changed.append(pos)
            continue
        centre = placed.columns[pos]
        window = reading.probs[max(0, centre - 1) : min(last, centre + 1) + 1]
        best_char, best_prob = char, 0.0
        for candidate in allowed:
            prob = float(window[:, 1 + ALPHABET.index(candidate)].max())
            if prob > best_prob:
                best_char, best_prob = candidate, prob
        if best_prob >= min_prob:
            text[pos], confs[pos] = best_char, best_prob
            changed.append(pos)
    return PlacedLine("".join(text), tuple(confs), placed.columns, tuple(changed), placed.filled)


def position_scores(reading: LineReading, placed: PlacedLine, types: str) -> list[dict[str, float]]:
    """Per position, the probability of each character its type allows.

    Taken at the position's column; for a letter-only or digit-only position a
    look-alike of the other type counts for its twin (``0`` for ``O`` in a
    name), as :func:`repair` maps it deterministically.
    """
    out: list[dict[str, float]] = []
    for kind, column in zip(types, placed.columns, strict=True):
        row = reading.probs[column, 1:]
        scores: dict[str, float] = {}
        twins = TO_DIGIT if kind == "N" else TO_LETTER if kind == "A" else {}
        for index, candidate in enumerate(ALPHABET):
            target = candidate if candidate in ALLOWED[kind] else twins.get(candidate)
            if target is not None:
                scores[target] = scores.get(target, 0.0) + float(row[index])
        out.append(scores)
    return out


#: look-alikes whose values are equal modulo 10: a check digit cannot tell them apart
CHECK_BLIND_TWINS = {"6": "G", "G": "6", "8": "S", "S": "8", "5": "Z", "Z": "5"}
BLIND_TWIN_LEAD = 0.4  # the lead a character needs over its check-blind twin


def vote(
    readings: list[list[dict[str, float]] | None], length: int, types: str = ""
) -> tuple[str, tuple[float, ...]]:
    """Combine several readings of one line position by position.

    The character is the one with the highest summed probability; its lead is
    (best - runner-up) / number of readings, so a reading that disagrees, or
    that could not be placed at all (None), lowers the confidence. A small lead
    means the reading could as well be another character -- in a name or a
    code no check digit would notice. In a position open to letters and digits,
    a chosen character that does not lead its check-blind twin (``6``/``G``) by
    :data:`BLIND_TWIN_LEAD` has no lead at all: nothing downstream would catch it.
    """
    text: list[str] = []
    leads: list[float] = []
    for pos in range(length):
        total: dict[str, float] = {}
        for scores in readings:
            if scores is None:
                continue
            for char, value in scores[pos].items():
                total[char] = total.get(char, 0.0) + value
        ranked = sorted(total.items(), key=lambda item: -item[1])
        if not ranked:
            text.append(FILLER)
            leads.append(0.0)
            continue
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        chosen = ranked[0][0]
        lead = (ranked[0][1] - runner_up) / len(readings)
        twin = CHECK_BLIND_TWINS.get(chosen)
        if types[pos : pos + 1] == "X" and twin:
            if (ranked[0][1] - total.get(twin, 0.0)) / len(readings) < BLIND_TWIN_LEAD:
                lead = 0.0
        text.append(chosen)
        leads.append(lead)
    return "".join(text), tuple(leads)
