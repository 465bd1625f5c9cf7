"""The simulated applicant puts their own document on the counter beside the kiosk.

Demos and tests only. Rendering the document is the applicant's doing, not the
kiosk's: it happens in a thread of its own, so the operation that reports the
start of an enrolment returns at once, and a document someone else puts on the
counter meanwhile stays there.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import cv2
import numpy as np

from appliance.documents.presented import SimulatedCounter
from central.cases.synthetic import synthetic_case

SITE = "LSB-01"


def _case() -> object:
    case, _ = synthetic_case("AIMA-2026-100042", SITE, dt.datetime.now(dt.UTC))
    return case


def test_the_applicant_puts_their_document_down_without_holding_the_counter(
    tmp_path: Path,
) -> None:
    scene = tmp_path / "scene.png"
    cv2.imwrite(str(scene), np.zeros((8, 8, 3), np.uint8))  # an empty counter
    counter = SimulatedCounter(scene, _case)
    counter.on_operation("enrolment.started", {})
    assert counter._placing is not None and counter._placing.is_alive()  # still rendering
    counter.settle()
    image = cv2.imread(str(scene))
    assert image is not None and image.shape[0] > 100  # the document scene, not the 8x8
    counter.on_operation("consent.given", {})  # other operations change nothing
    assert counter._placing is None


def test_a_document_put_down_meanwhile_stays_on_the_counter(tmp_path: Path) -> None:
    scene = tmp_path / "scene.png"
    cv2.imwrite(str(scene), np.zeros((8, 8, 3), np.uint8))
    counter = SimulatedCounter(scene, _case)
    counter.on_operation("enrolment.started", {})
    other = tmp_path / "other.png"
    cv2.imwrite(str(other), np.full((16, 16, 3), 255, np.uint8))
    other.replace(scene)  # a test shows another document before the applicant's is ready
    counter.settle()
    image = cv2.imread(str(scene))
    assert image is not None and image.shape[:2] == (16, 16)
    assert [p.name for p in tmp_path.iterdir()] == ["scene.png"]  # nothing left behind
