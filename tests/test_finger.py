"""Fingerprint quality (NFIQ 2) and slap segmentation on synthetic prints and slaps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from appliance.config.quality import FingerQualityThresholds
from appliance.finger.quality import assess_finger
from appliance.finger.segment import segment_slap
from drivers.interfaces import CaptureKind, FingerPosition
from drivers.sim.fingerprint_synth import FingerDefects, synthesize_finger, synthesize_slap

ROOT = Path(__file__).resolve().parents[1]
LIMITS = FingerQualityThresholds()


def test_good_synthetic_print_is_accepted() -> None:
    result = assess_finger(synthesize_finger(4, FingerPosition.RIGHT_INDEX), LIMITS)
    assert result.nfiq2 is not None and result.nfiq2 >= LIMITS.nfiq2_min
    assert result.accepted
    assert result.feedback == []


@pytest.mark.parametrize(
    ("defects", "feedback"),
    [
        (FingerDefects(blank=True), "finger.place_finger"),
        (FingerDefects(noise_only=True), "finger.place_finger"),
        (FingerDefects(wet=1.0, pressure=1.5), "finger.too_wet"),
        (FingerDefects(dry=0.9), "finger.too_dry"),
    ],
    ids=["blank", "noise", "wet", "dry"],
)
def test_defects_are_rejected_with_actionable_feedback(
    defects: FingerDefects, feedback: str
) -> None:
    result = assess_finger(synthesize_finger(4, FingerPosition.RIGHT_INDEX, 1, defects), LIMITS)
    assert not result.accepted
    assert result.reason
    assert feedback in result.feedback


@pytest.mark.parametrize(
    ("kind", "hand", "expected"),
    [
        (CaptureKind.SLAP_RIGHT_FOUR, "right", [2, 3, 4, 5]),
        (CaptureKind.SLAP_LEFT_FOUR, "left", [10, 9, 8, 7]),
        (CaptureKind.SLAP_THUMBS, "thumbs", [6, 1]),
    ],
)
@pytest.mark.parametrize("subject", [3, 9])
def test_slaps_segment_into_the_right_fingers(
    kind: CaptureKind, hand: str, expected: list[int], subject: int
) -> None:
    slap = synthesize_slap(subject, kind)
    result = segment_slap(slap.pixels, len(expected), hand)
    assert result.ok, result.reason
    assert [int(f.position) for f in result.fingers] == expected
    for finger, (_, truth) in zip(result.fingers, slap.fingers, strict=True):
        x, y, w, _h = finger.box
        tx, ty, tw, _th = truth
        overlap_w = min(x + w, tx + tw) - max(x, tx)
        assert overlap_w > 0.7 * tw  # the fingertip box sits on the real finger
        assert abs(y - ty) < 60


def test_touching_fingers_still_count_four() -> None:
    slap = synthesize_slap(5, CaptureKind.SLAP_RIGHT_FOUR, touching=True)
    assert segment_slap(slap.pixels, 4, "right").ok


def test_missing_finger_needs_a_recapture_unless_declared() -> None:
    slap = synthesize_slap(
        5, CaptureKind.SLAP_RIGHT_FOUR, missing=frozenset({FingerPosition.RIGHT_RING})
    )
    undeclared = segment_slap(slap.pixels, 4, "right")
    assert not undeclared.ok
    assert "expected 4" in (undeclared.reason or "")
    assert segment_slap(slap.pixels, 3, "right").ok


@pytest.mark.parametrize(
    "defects", [FingerDefects(blank=True), FingerDefects(noise_only=True)], ids=["blank", "noise"]
)
def test_blank_and_noise_slaps_find_no_fingers(defects: FingerDefects) -> None:
    slap = synthesize_slap(5, CaptureKind.SLAP_RIGHT_FOUR, defects=defects)
    result = segment_slap(slap.pixels, 4, "right")
    assert not result.ok
    assert result.fingers == ()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_cli_json_lines_and_bad_files(tmp_path: Path) -> None:
    finger = tmp_path / "finger.png"
    cv2.imwrite(str(finger), synthesize_finger(6, FingerPosition.LEFT_INDEX))
    slap = tmp_path / "slap.png"
    cv2.imwrite(str(slap), synthesize_slap(6, CaptureKind.SLAP_LEFT_FOUR).pixels)
    junk = tmp_path / "junk.png"
    junk.write_text("not an image")
    result = _cli("finger-check", str(finger), str(junk), str(tmp_path / "missing.png"), "--json")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1
    assert set(rows[0]) == {"file", "nfiq2", "accepted", "feedback", "ms"}
    assert rows[0]["accepted"] is True
    assert "error" in rows[1] and "error" in rows[2]
    assert "Traceback" not in result.stderr
    result = _cli("slap-segment", str(slap), str(junk), "--expect", "4", "--hand", "left", "--json")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["ok"] is True and rows[0]["count"] == 4
    assert [f["position"] for f in rows[0]["fingers"]] == [10, 9, 8, 7]
    assert all(len(f["box"]) == 4 and "nfiq2" in f for f in rows[0]["fingers"])
    assert set(rows[0]) == {"file", "count", "ok", "reason", "fingers", "ms"}
    assert "error" in rows[1]


def test_flexion_creases_do_not_split_fingers() -> None:
    """A long-finger slap whose phalanges are separated by blank creases still counts four."""
    import numpy as np

    slap = synthesize_slap(8, CaptureKind.SLAP_LEFT_FOUR)
    pixels = slap.pixels.copy()
    tall = np.full((pixels.shape[0] + 600, pixels.shape[1]), int(np.median(pixels)), np.uint8)
    tall[: pixels.shape[0]] = pixels
    for _, (x, y, w, h) in slap.fingers:  # a middle phalanx below each tip, after a crease
        segment = pixels[y + h // 3 : y + h, x : x + w]
        top = y + h + 25
        tall[top : top + segment.shape[0], x : x + w] = segment
    result = segment_slap(tall, 4, "left")
    assert result.ok, result.reason
    for finger, (_, (_tx, ty, _tw, _th)) in zip(result.fingers, slap.fingers, strict=True):
        assert abs(finger.box[1] - ty) < 60  # the box still starts at the fingertip


def test_nbis_byte_copy_by_memmove_gives_the_same_scores_and_minutiae() -> None:
    import nbis.nbis as binding

    from appliance.finger.nbis_calls import _extractor, compare_minutiae

    _extractor(nfiq2=True)  # patches the binding on first use
    patched = binding._UniffiRustBufferBuilder.write
    assert getattr(patched, "_claim_memmove", False)
    finger = synthesize_finger(3, FingerPosition.RIGHT_INDEX)
    limits = FingerQualityThresholds()
    fast = assess_finger(finger, limits)
    binding._UniffiRustBufferBuilder.write = patched.original
    try:
        slow = assess_finger(finger, limits)
    finally:
        binding._UniffiRustBufferBuilder.write = patched
    assert fast.nfiq2 == slow.nfiq2 and fast.actionable == slow.actionable
    assert compare_minutiae(fast.minutiae, slow.minutiae) == compare_minutiae(
        slow.minutiae, slow.minutiae
    )


def test_an_unknown_binding_is_left_alone() -> None:
    import types

    from appliance.finger.uniffi_copy import speed_up_byte_copies

    class Builder:
        def write(self, value: bytes) -> None:
            self.value = value

    module = types.ModuleType("other_binding")
    module._UniffiRustBufferBuilder = Builder  # type: ignore[attr-defined]
    assert speed_up_byte_copies(module) is False
    assert Builder.write.__name__ == "write" and not hasattr(Builder.write, "_claim_memmove")
