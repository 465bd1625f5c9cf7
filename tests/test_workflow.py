"""The enrolment workflow's state machine, its record on disk, and its image helpers."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from appliance.capture.face_placeholder import placeholder_analyse_frame
from appliance.documents.perspective import find_document, order_corners, rectify
from appliance.documents.qr import case_reference_from_payload, decode_qr
from appliance.workflow.persist import WorkflowFile
from appliance.workflow.state import (
    TRANSITIONS,
    MissingFingerRecord,
    Step,
    TransitionError,
    WorkflowRecord,
    check_transition,
)
from drivers.sim.documents import document_scene, encode_qr, qr_scene, specimen_card
from drivers.sim.portrait import PortraitScene, render_portrait

pytestmark = pytest.mark.timeout(60)


def test_transitions_are_explicit() -> None:
    check_transition(Step.CONSENT, Step.FACE)
    check_transition(Step.REVIEW, Step.FACE)  # retake from review
    check_transition(Step.SUBMITTING, Step.DONE)
    for bad in [(Step.CONSENT, Step.REVIEW), (Step.FACE, Step.SUBMITTING), (Step.DONE, Step.FACE)]:
        with pytest.raises(TransitionError):
            check_transition(*bad)
    # Submitting is reachable only from review.
    assert [s for s, targets in TRANSITIONS.items() if Step.SUBMITTING in targets] == [Step.REVIEW]


def _record(step: Step) -> WorkflowRecord:
    record = WorkflowRecord(case_reference="AIMA-2026-000001", operator="ana", language="ar")
    record.step = step
    record.consent_at = 1.0
    record.complete(Step.CONSENT)
    record.complete(Step.FACE)
    record.missing_fingers.append(MissingFingerRecord(4, "XX", "ana", "sofia", 2.0))
    record.capture_session_id = "abc"
    return record


def test_record_round_trips_and_holds_no_biometrics(tmp_path: Path) -> None:
    store = WorkflowFile(tmp_path / "wf")
    record = _record(Step.FINGERPRINTS)
    store.save(record)
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    loaded = store.load()
    assert loaded == record
    data = json.loads(store.path.read_text())
    assert set(data) == {
        "version", "case_reference", "operator", "language", "workflow_id", "step",
        "created_at", "updated_at", "consent_at", "consent_language", "completed",
        "missing_fingers", "capture_session_id", "packet_id", "receipt", "notice", "case_check",
        "operator_role", "paused",
    }  # fmt: skip
    store.clear()
    assert store.load() is None
    store.clear()  # twice is fine


def test_unreadable_record_is_set_aside(tmp_path: Path) -> None:
    store = WorkflowFile(tmp_path / "wf")
    store.path.write_text("{ torn")
    assert store.load() is None
    assert store.path.with_suffix(".unreadable").exists()
    store.path.write_text(json.dumps({"version": 99}))
    assert store.load() is None


@pytest.mark.parametrize("step", [Step.FACE, Step.FINGERPRINTS, Step.DOCUMENTS, Step.REVIEW])
def test_recovery_mid_capture_resumes_at_face_keeping_consent(step: Step) -> None:
    record = _record(step)
    record.recover(packet_in_outbox=False)
    assert record.step is Step.FACE
    assert record.consent_at == 1.0 and record.completed == []
    assert record.missing_fingers == []  # confirmed again with the new captures
    assert record.capture_session_id is None
    assert record.notice == "workflow.resumed_after_restart"


def test_recovery_while_sealing_asks_the_outbox() -> None:
    sealed = _record(Step.SUBMITTING)
    sealed.packet_id = "p1"
    sealed.recover(packet_in_outbox=True)
    assert sealed.step is Step.DONE and sealed.notice == "workflow.recovered_submitted"
    lost = _record(Step.SUBMITTING)
    lost.packet_id = "p2"
    lost.recover(packet_in_outbox=False)
    assert lost.step is Step.ABORTED and lost.notice == "workflow.aborted_after_restart"


def test_consent_step_survives_recovery_unchanged() -> None:
    record = WorkflowRecord(case_reference="AIMA-2026-000001", operator="ana", language="uk")
    record.recover(packet_in_outbox=False)
    assert record.step is Step.CONSENT and record.notice is None


def test_document_is_found_and_straightened() -> None:
    scene = document_scene(seed=3)
    quad = find_document(scene)
    assert quad is not None
    expected = np.array([(0.16, 0.18), (0.80, 0.22), (0.78, 0.78), (0.13, 0.72)]) * [1024, 768]
    assert np.abs(quad - expected).max() < 12
    result = rectify(scene)
    assert result.corrected and result.format == "id1"
    height, width = result.image.shape[:2]
    assert width > height and abs(width / height - 85.6 / 53.98) < 0.02
    # The straightened card matches the flat original closely.
    flat = cv2.resize(specimen_card(), (width, height))
    difference = np.abs(result.image.astype(int) - flat.astype(int)).mean()
    assert difference < 25


def test_no_document_leaves_the_frame_uncorrected() -> None:
    portrait = render_portrait(PortraitScene(), 640, 480, seed=1)
    result = rectify(portrait)
    assert not result.corrected and result.image is portrait


def test_corner_order() -> None:
    shuffled = np.array([[10, 90], [90, 10], [10, 10], [90, 90]])
    assert order_corners(shuffled).tolist() == [[10, 10], [90, 10], [90, 90], [10, 90]]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("AIMA-2026-000123", "AIMA-2026-000123"),
        ("AIMA:CASE=AIMA-2026-000123;DATE=2026-03-02", "AIMA-2026-000123"),
        ("https://agendamento.example/appt?ref=PT/LX/42&x=1", "PT/LX/42"),
        ("case=has space", None),
        ("hello world", None),
        ("", None),
    ],
)
def test_case_reference_from_qr_payload(payload: str, expected: str | None) -> None:
    assert case_reference_from_payload(payload) == expected


def test_qr_round_trip_through_a_camera_scene() -> None:
    assert decode_qr(cv2.cvtColor(encode_qr("AIMA-1"), cv2.COLOR_GRAY2BGR)) == "AIMA-1"
    assert decode_qr(qr_scene("AIMA:CASE=AIMA-2026-7")) == "AIMA:CASE=AIMA-2026-7"
    assert decode_qr(render_portrait(PortraitScene(), 640, 480, seed=1)) is None


@pytest.mark.parametrize(
    ("scene", "prompt"),
    [
        (PortraitScene(), None),
        (PortraitScene(distance=2.0), "face.move_closer"),
        (PortraitScene(distance=0.7), "face.move_back"),
        (PortraitScene(offset_x=0.25), "face.move_left"),  # mirrored, as the engine says
        (PortraitScene(offset_x=-0.25), "face.move_right"),
        (PortraitScene(brightness=0.3), "face.too_dark"),
        (PortraitScene(blur_sigma=4), "face.keep_still"),
    ],
)
def test_placeholder_face_guidance(scene: PortraitScene, prompt: str | None) -> None:
    result = placeholder_analyse_frame(render_portrait(scene, 1024, 768, seed=5))
    if prompt is None:
        assert result["prompts"] == [] and result["box"] is not None and result["ok"]
    else:
        assert prompt in result["prompts"]
    empty = placeholder_analyse_frame(np.full((480, 640, 3), 200, np.uint8))
    assert empty == {"prompts": ["face.no_face"], "box": None, "ok": False}
