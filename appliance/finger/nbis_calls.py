"""Every call into NBIS (mindtct, bozorth3, NFIQ 2), one at a time per process.

NBIS keeps global state in C, so its calls are serialised by one process-wide
lock. This module imports nothing heavy: it is all an NFIQ 2 worker process of
:mod:`appliance.finger.nbis_pool` loads. Two extractors exist per process, made
on first use: one that also computes NFIQ 2 (loads its model) and one that only
finds minutiae (the same-hand check's).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

#: NBIS (mindtct, bozorth3, NFIQ 2) keeps global state in C: one call at a time, process-wide.
_NBIS_LOCK = threading.RLock()


@dataclass(frozen=True)
class NbisScore:
    """NFIQ 2's score and actionable measures of one finger, and the minutiae it came from."""

    score: int
    actionable: dict[str, float]
    minutiae: Any = field(compare=False, repr=False)


#: Why NBIS gave no score (the error's type name), e.g. a finger mindtct cannot read.
NbisFailure = str


def score_png(png: bytes) -> NbisScore | NbisFailure:
    """NFIQ 2 of one PNG-encoded finger with this process's extractor."""
    import nbis

    try:
        with _NBIS_LOCK:
            minutiae = _extractor(nfiq2=True).extract_minutiae(png)
            result = minutiae.quality()
    except nbis.NbisError as exc:
        return type(exc).__name__
    return NbisScore(
        int(result.score), {v.name: float(v.value) for v in result.actionable}, minutiae
    )


def extract_minutiae(png: bytes) -> Any:
    """NBIS minutiae of one PNG-encoded finger image (no NFIQ 2), serialised."""
    with _NBIS_LOCK:
        return _extractor(nfiq2=False).extract_minutiae(png)


def load_minutiae(template: bytes) -> Any:
    """Minutiae from their ISO/IEC 19794-2:2005 record (as NBIS wrote it), serialised."""
    with _NBIS_LOCK:
        return _extractor(nfiq2=False).load_iso_19794_2_2005(template)


def compare_minutiae(a: Any, b: Any) -> int:
    """bozorth3 score between two minutiae sets, serialised like every NBIS call."""
    with _NBIS_LOCK:
        return int(a.compare(b))


_EXTRACTORS: dict[bool, Any] = {}


def _extractor(nfiq2: bool) -> Any:
    """This process's NBIS extractor, with NFIQ 2 (loads its model) or minutiae only."""
    with _NBIS_LOCK:
        if nfiq2 not in _EXTRACTORS:
            import nbis
            import nbis.nbis as binding

            from appliance.finger.uniffi_copy import speed_up_byte_copies

            speed_up_byte_copies(binding)
            settings = nbis.NbisExtractorSettings(
                min_quality=0.0,
                get_center=False,
                check_fingerprint=False,
                compute_nfiq2=nfiq2,
                ppi=500.0,
            )
            _EXTRACTORS[nfiq2] = nbis.new_nbis_extractor(settings)
        return _EXTRACTORS[nfiq2]


#: A worker's answer: (score, actionable measures, ISO/IEC 19794-2:2005 minutiae) or a failure.
WorkerAnswer = tuple[int, list[tuple[str, float]], bytes] | NbisFailure


def answer_png(png: bytes) -> WorkerAnswer:
    """NFIQ 2 of one finger as plain data that crosses a process boundary (in a worker)."""
    scored = score_png(png)
    if isinstance(scored, str):
        return scored
    with _NBIS_LOCK:
        template = bytes(scored.minutiae.to_iso_19794_2_2005())
    return scored.score, sorted(scored.actionable.items()), template


def from_answer(answer: WorkerAnswer) -> NbisScore | NbisFailure:
    """A worker's answer in this process, its minutiae loaded back."""
    if isinstance(answer, str):
        return answer
    score, actionable, template = answer
    return NbisScore(score, dict(actionable), load_minutiae(template))
