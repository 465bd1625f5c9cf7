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
TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "T": "1", "Z": "2", "S": "5", "G": "6", "B": "8"}  # fmt: skip
TO_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}
Probs = npt.NDArray[np.float32]


def onnx_session(path: Path, threads: int = 1) -> object:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
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
        resized = cv2.resize(line, (target, REC_HEIGHT), interpolation=cv2.INTER_AREA if height > REC_HEIGHT else cv2.INTER_CUBIC)  # fmt: skip
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
    the peaks do not fit a fixed pitch (the line is not readable as such).
    """
    chars, peaks = reading.text, np.asarray(reading.peaks, dtype=np.float64)
    if len(chars) == length:
        columns = [int(p) for p in peaks]
        return PlacedLine(chars, _confs(reading, chars, columns), tuple(columns), (), ())
    if len(chars) < max(8, length // 3):
        return None
    steps = np.diff(peaks)
    pitch = float(np.median(steps))
    if pitch <= 0:
        return None
    index = np.round((peaks - peaks[0]) / pitch)
    # refine the pitch on the positions just found, then place again
    if index[-1] > 0:
        slope, offset = np.polyfit(index, peaks, 1)
        if slope > 0:
            index = np.round((peaks - offset) / slope)
            pitch = float(slope)
            index -= index[0]
    positions = index.astype(int)
    if positions[-1] >= length or np.any(np.diff(positions) <= 0):
        return None
    text = [""] * length
    columns = [0] * length
    for pos, char, peak in zip(positions, chars, reading.peaks, strict=True):
        text[pos], columns[pos] = char, int(peak)
    filled: list[int] = []
    last_column = reading.probs.shape[0] - 1
    for pos in range(length):
        if text[pos]:
            continue
        column = round(float(peaks[0]) + pos * pitch)
        filled.append(pos)
        if column > last_column:
            text[pos], columns[pos] = FILLER, last_column
            continue
        scores = reading.probs[column, 1:]
        text[pos], columns[pos] = ALPHABET[int(scores.argmax())], column
    joined = "".join(text)
    return PlacedLine(joined, _confs(reading, joined, columns), tuple(columns), (), tuple(filled))


def _confs(reading: LineReading, text: str, columns: list[int]) -> tuple[float, ...]:
    return tuple(reading.confidence(col, ch) for col, ch in zip(columns, text, strict=True))


def repair(reading: LineReading, placed: PlacedLine, types: str, min_prob: float = 1e-3) -> PlacedLine:
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
