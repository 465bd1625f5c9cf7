"""The 4-4-2 ten-print capture flow over the :class:`FingerprintReader` interface.

Right four, left four, both thumbs. Each slap is captured up to ``retries + 1``
times and the best attempt kept: an attempt is accepted when segmentation
finds the expected number of fingers (the hand's fingers minus the declared
missing ones) and every finger reaches the NFIQ 2 threshold. A sequence check
then looks for the two classic operator errors:

- the wrong hand: on a plain slap the little finger sits lowest, so it must be
  at the right end of a right-hand slap and the left end of a left-hand one;
- the same hand twice: index fingers of the "right" and "left" slaps that
  match each other with bozorth3 are one finger, presented twice.

Missing fingers (``XX`` amputated, ``UP`` unable to print) are declared by the
operator and must be confirmed by a different person with the supervisor role.

A slap is judged after the reader hands its image over, and the reader is not
needed while it is: a :class:`ReaderTurn` lets the caller give the reader to the
next slap during the judgement (the applicant moves on at once) and says whether
a rejected slap may be taken again at once (:data:`EXCLUSIVE`: always).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2

from appliance.config.quality import FingerQualityThresholds
from appliance.finger.nbis_calls import compare_minutiae, extract_minutiae
from appliance.finger.quality import (
    IN_PROCESS,
    FingerAssessment,
    FingerScorer,
    assess_finger,
    assess_fingers,
)
from appliance.finger.records import FingerCapture, MissingFinger
from appliance.finger.segment import HANDS, Segmentation, segment_slap
from drivers.errors import DeviceTimeout
from drivers.interfaces import (
    SLAP_LAYOUT,
    CaptureKind,
    CaptureRequest,
    FingerPosition,
    FingerprintReader,
    ImageU8,
    ReaderEventCallback,
)

logger = logging.getLogger(__name__)

SEQUENCE = (CaptureKind.SLAP_RIGHT_FOUR, CaptureKind.SLAP_LEFT_FOUR, CaptureKind.SLAP_THUMBS)
#: bozorth3 score from which two fingers are the same finger. A finger presented twice
#: scores in the hundreds (488-540 on our synthetic prints); different fingers of one
#: synthetic hand reached 40, NBIS's usual "match" score, in a soak run, and a false
#: alarm here blocks a genuine enrolment, so the check asks for twice that.
SAME_FINGER_SCORE = 80


class FlowError(Exception):
    """The flow cannot go on as asked (e.g. an unconfirmed missing-finger exception)."""


@dataclass(frozen=True)
class FingerException:
    """A missing finger declared by an operator and confirmed by a supervisor."""

    missing: MissingFinger
    declared_by: str
    confirmed_by: str

    def validate(self) -> None:
        if not self.confirmed_by:
            raise FlowError(f"missing finger {int(self.missing.position)} needs a supervisor")
        if self.confirmed_by == self.declared_by:
            raise FlowError("the supervisor confirming a missing finger must be another person")


@dataclass
class SlapResult:
    kind: CaptureKind
    pixels: ImageU8
    segmentation: Segmentation
    fingers: list[tuple[FingerPosition, ImageU8, FingerAssessment]]
    attempts: int
    accepted: bool

    def captures(self) -> list[FingerCapture]:
        """The slap and its segmented fingers, ready for the ANSI/NIST and ISO records."""
        slap_fgp = SLAP_LAYOUT[self.kind][0]
        segments = tuple((f.position, *f.box) for f in self.segmentation.fingers)
        return [
            FingerCapture(slap_fgp, self.pixels, None, segments),
            *(FingerCapture(p, pixels, a.nfiq2) for p, pixels, a in self.fingers),
        ]

    @property
    def worst_score(self) -> int:
        scores = [a.nfiq2 or 0 for _, _, a in self.fingers]
        return min(scores) if scores else -1


@dataclass
class TenPrintResult:
    slaps: dict[CaptureKind, SlapResult]
    exceptions: list[FingerException]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(s.accepted for s in self.slaps.values())

    def captures(self) -> list[FingerCapture]:
        """Slaps and segmented fingers, ready for the ANSI/NIST and ISO records."""
        return [capture for slap in self.slaps.values() for capture in slap.captures()]

    @property
    def missing(self) -> list[MissingFinger]:
        return [e.missing for e in self.exceptions]


class ReaderTurn(Protocol):
    """How one slap's capture shares the reader with the slaps after it."""

    def judging(self) -> None:
        """The attempt's image is in: the reader is free while it is judged."""

    def retake(self) -> bool:
        """The attempt was rejected: may the reader take this slap again now?

        True claims the reader for the new attempt; False ends the slap with its
        best attempt (the applicant has moved on: the operator retakes it later).
        """


class _Exclusive:
    """The reader stays with the slap until it is accepted or out of attempts."""

    def judging(self) -> None:
        pass

    def retake(self) -> bool:
        return True


EXCLUSIVE: ReaderTurn = _Exclusive()


class TenPrintFlow:
    def __init__(
        self,
        reader: FingerprintReader,
        thresholds: FingerQualityThresholds,
        on_event: ReaderEventCallback | None = None,
        enrolment_id: str = "",
        scorer: FingerScorer = IN_PROCESS,
    ) -> None:
        self._reader = reader
        self._limits = thresholds
        self._scorer = scorer
        self._on_event = on_event
        self._enrolment_id = enrolment_id

    async def capture_442(self, exceptions: list[FingerException] | None = None) -> TenPrintResult:
        exceptions = exceptions or []
        for exception in exceptions:
            exception.validate()
        missing = frozenset(e.missing.position for e in exceptions)
        slaps = {}
        for kind in SEQUENCE:
            slaps[kind] = await self.capture_slap(kind, missing)
        result = TenPrintResult(slaps, exceptions)
        result.problems.extend(await asyncio.to_thread(sequence_problems, slaps))
        return result

    async def capture_slap(
        self,
        kind: CaptureKind,
        missing: frozenset[FingerPosition] = frozenset(),
        turn: ReaderTurn = EXCLUSIVE,
    ) -> SlapResult:
        slap_fgp, layout = SLAP_LAYOUT[kind]
        present = [p for p in layout if p not in missing]
        best: SlapResult | None = None
        timeout: DeviceTimeout | None = None
        made = 0
        for attempt in range(1, self._limits.retries + 2):
            if best is not None and not turn.retake():
                break  # the reader went to the next slap: this one ends with its best
            made = attempt
            try:
                image = await self._reader.capture(
                    CaptureRequest(
                        kind,
                        slap_fgp,
                        missing=missing,
                        stable_frames=self._limits.stable_frames,
                        enrolment_id=self._enrolment_id,
                    ),
                    self._on_event,
                )
            except DeviceTimeout as exc:  # nothing settled on the glass: a failed attempt
                logger.info("slap %s attempt %d: %s", kind, attempt, exc)
                timeout = exc
                continue
            turn.judging()
            result = await asyncio.to_thread(self._judge, kind, image.pixels, present, attempt)
            if best is None or _better(result, best):
                best = result
            if result.accepted:
                break
            logger.info("slap %s attempt %d rejected", kind, attempt)
        if best is None:
            assert timeout is not None
            raise timeout
        best.attempts = made
        return best

    async def capture_single(
        self, position: FingerPosition, kind: CaptureKind = CaptureKind.FLAT_SINGLE
    ) -> tuple[ImageU8, FingerAssessment, int]:
        """A flat or rolled single finger: best of up to ``retries + 1`` attempts."""
        if kind not in (CaptureKind.FLAT_SINGLE, CaptureKind.ROLLED_SINGLE):
            raise FlowError(f"{kind} is not a single-finger capture")
        best: tuple[ImageU8, FingerAssessment] | None = None
        attempts = 0
        timeout: DeviceTimeout | None = None
        while attempts <= self._limits.retries:
            attempts += 1
            try:
                image = await self._reader.capture(
                    CaptureRequest(
                        kind,
                        position,
                        stable_frames=self._limits.stable_frames,
                        enrolment_id=self._enrolment_id,
                    ),
                    self._on_event,
                )
            except DeviceTimeout as exc:  # nothing settled on the glass: a failed attempt
                timeout = exc
                continue
            assessment = await asyncio.to_thread(
                assess_finger, image.pixels, self._limits, self._scorer
            )
            if best is None or (assessment.nfiq2 or -1) > (best[1].nfiq2 or -1):
                best = (image.pixels, assessment)
            if assessment.accepted:
                break
        if best is None:
            assert timeout is not None
            raise timeout
        return best[0], best[1], attempts

    def _judge(
        self, kind: CaptureKind, pixels: ImageU8, present: list[FingerPosition], attempt: int
    ) -> SlapResult:
        hand = next(name for name, k in HANDS.items() if k is kind)
        segmentation = segment_slap(pixels, len(present), hand)
        fingers = []
        if segmentation.ok:
            crops = [
                pixels[y : y + h, x : x + w].copy()
                for x, y, w, h in (finger.box for finger in segmentation.fingers)
            ]
            # All the slap's fingers at once: the scorer may run them in parallel.
            assessments = assess_fingers(crops, self._limits, self._scorer)
            fingers = list(zip(present, crops, assessments, strict=True))
            # Re-label the boxes with the fingers actually present.
            segmentation = Segmentation(
                tuple(
                    type(f)(p, f.box) for p, f in zip(present, segmentation.fingers, strict=True)
                ),
                True,
                None,
            )
        accepted = segmentation.ok and all(a.accepted for _, _, a in fingers)
        return SlapResult(kind, pixels, segmentation, fingers, attempt, accepted)


def _better(candidate: SlapResult, best: SlapResult) -> bool:
    if candidate.segmentation.ok != best.segmentation.ok:
        return candidate.segmentation.ok
    return candidate.worst_score > best.worst_score


def _minutiae(pixels: ImageU8) -> Any:
    ok, png = cv2.imencode(".png", pixels)
    return extract_minutiae(bytes(png)) if ok else None


def warm_up_matcher(pixels: ImageU8) -> None:
    """Load the minutiae extractor the sequence check uses (once per process)."""
    _minutiae(pixels)


def slap_minutiae(slap: SlapResult) -> list[Any]:
    """The minutiae of each finger of a slap, for the same-hand check (blocking)."""
    return [
        m
        for _, img, assessment in slap.fingers
        if (m := assessment.minutiae if assessment.minutiae is not None else _minutiae(img))
        is not None
    ]


def sequence_problems(slaps: dict[CaptureKind, SlapResult]) -> list[str]:
    """Wrong hand or same hand twice, as message keys with the slap they concern.

    The same-hand check compares the minutiae NFIQ 2 was computed from (kept on
    each finger's assessment), so it extracts nothing again.
    """
    problems = []
    for kind in (CaptureKind.SLAP_RIGHT_FOUR, CaptureKind.SLAP_LEFT_FOUR):
        slap = slaps.get(kind)
        if slap is None or len(slap.segmentation.fingers) < 4:
            continue
        tops = [f.box[1] for f in slap.segmentation.fingers]
        lowest = tops.index(max(tops))
        expected = 3 if kind is CaptureKind.SLAP_RIGHT_FOUR else 0
        if lowest != expected:
            problems.append(f"finger.wrong_hand:{kind.value}")
    right, left = slaps.get(CaptureKind.SLAP_RIGHT_FOUR), slaps.get(CaptureKind.SLAP_LEFT_FOUR)
    if right and left and right.fingers and left.fingers:
        # Any finger of one slap matching any finger of the other: one hand, twice.
        first, second = slap_minutiae(right), slap_minutiae(left)
        if any(compare_minutiae(a, b) >= SAME_FINGER_SCORE for a in first for b in second):
            problems.append("finger.same_hand_twice")
    return problems
