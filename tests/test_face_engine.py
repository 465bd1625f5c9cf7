"""The ICAO photo-quality engine: every check passes on a good portrait and fails
on a degradation made for it."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from appliance.face.engine import CHECK_NAMES, PhotoQualityEngine
from appliance.face.landmarks import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, FaceLandmarks
from appliance.face.pose import rotation
from appliance.face.token import make_token, token_geometry
from tests import face_images as img

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def engine() -> Iterator[PhotoQualityEngine]:
    eng = PhotoQualityEngine()
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def good_report(engine: PhotoQualityEngine):  # type: ignore[no-untyped-def]
    return engine.assess(img.good())


def test_good_portrait_is_compliant_with_every_check_reported(good_report) -> None:  # type: ignore[no-untyped-def]
    assert good_report.faces == 1
    assert good_report.failed == []
    assert list(good_report.checks) == list(CHECK_NAMES)
    for name, check in good_report.as_json()["checks"].items():
        assert set(check) == {"value", "score", "limit", "passed"}, name
        assert check["passed"] is True, name


def _failed(engine: PhotoQualityEngine, image: np.ndarray) -> list[str]:
    return engine.assess(image).failed


@pytest.mark.parametrize(
    ("make", "check"),
    [
        (lambda: img.scene(second_face=True), "single_face"),
        (lambda: img.scene(distance=1.6), "inter_eye_distance"),
        (lambda: img.scene(distance=1.6), "head_size"),
        (lambda: img.scene(distance=0.45), "head_size"),
        (lambda: img.shift(img.good(), 110, 0), "centring"),
        (lambda: img.shift(img.good(), -250, 0), "crop_left"),
        (lambda: img.shift(img.good(), 250, 0), "crop_right"),
        (lambda: img.crop_top(img.good(), 0.3), "crop_top"),
        (lambda: img.shift(img.good(), 0, 250), "crop_bottom"),
        (lambda: img.scene(roll_deg=15), "roll"),
        (lambda: img.scene(glasses="dark"), "eyes_visible"),
        (lambda: img.scene(eye_bar=True), "eyes_visible"),
        (lambda: img.scene(mouth_open=True), "mouth_closed"),
        (lambda: img.scene(mouth_open=True), "expression_neutrality"),
        (lambda: img.scene(mask=True), "mouth_occlusion"),
        (lambda: img.scene(mask=True), "face_occlusion"),
        (lambda: img.scene(background="cluttered"), "background_uniformity"),
        (lambda: img.scene(background="coloured"), "background_uniformity"),
        (lambda: img.side_light(img.good(), 0.6), "illumination_uniformity"),
        (lambda: img.scene(brightness=0.3), "luminance_mean"),
        (lambda: img.scene(brightness=0.3), "luminance_variance"),
        (lambda: img.scene(brightness=0.3), "under_exposure"),
        (lambda: img.scene(brightness=2.2), "over_exposure"),
        (lambda: img.scene(brightness=0.3), "dynamic_range"),
        (lambda: img.scene(blur_sigma=4), "sharpness"),
        (lambda: img.jpeg(img.good(), 4), "compression_artifacts"),
        (lambda: img.scene(colour_cast=(1.4, 1.0, 0.6)), "natural_colour"),
    ],
)
def test_degradation_fails_its_check(engine: PhotoQualityEngine, make, check: str) -> None:  # type: ignore[no-untyped-def]
    report = engine.assess(make())
    assert check in report.failed, report.as_json()["checks"][check]


def test_closed_eyes_fail_eyes_open(engine: PhotoQualityEngine, good_report) -> None:  # type: ignore[no-untyped-def]
    lm = good_report.landmarks
    closed = img.close_eyes(
        img.good(), [lm.polygon(RIGHT_EYE_CONTOUR), lm.polygon(LEFT_EYE_CONTOUR)]
    )
    assert "eyes_open" in _failed(engine, closed)


def test_hat_fails_head_covering(engine: PhotoQualityEngine, good_report) -> None:  # type: ignore[no-untyped-def]
    lm = good_report.landmarks
    xs = lm.mesh[:, 0]
    covered = img.hat(img.good(), int(lm.eye_midpoint[1]), int(xs.min()), int(xs.max()))
    assert "head_covering" in _failed(engine, covered)


def _turned_mesh(
    engine: PhotoQualityEngine, lm: FaceLandmarks, yaw: float, pitch: float
) -> FaceLandmarks:
    """The measured mesh turned in 3-D about its centre (image frame: y down, z away)."""
    flip = np.array([1.0, -1.0, -1.0])
    points = lm.mesh * flip
    centre = points.mean(axis=0)
    turned = ((points - centre) @ rotation(yaw, pitch, 0.0).T + centre) * flip
    return FaceLandmarks(
        turned, lm.upright, lm.right_iris, lm.left_iris, engine.models.pose.estimate(turned)
    )


@pytest.mark.parametrize(("yaw", "pitch", "check"), [(20, 0, "yaw"), (0, 20, "pitch")])
def test_turned_mesh_fails_pose(
    engine: PhotoQualityEngine,
    good_report,
    monkeypatch: pytest.MonkeyPatch,
    yaw,
    pitch,
    check,  # type: ignore[no-untyped-def]
) -> None:
    # Turning the measured mesh itself: the geometric fit follows it exactly.
    lm = good_report.landmarks
    turned = _turned_mesh(engine, lm, yaw, pitch)
    assert turned.pose.yaw - lm.pose.yaw == pytest.approx(yaw, abs=1.5)
    assert turned.pose.pitch - lm.pose.pitch == pytest.approx(pitch, abs=1.5)
    monkeypatch.setattr(engine.models, "landmarks", lambda *a, **k: turned)
    assert check in _failed(engine, img.good())


def test_no_face_reports_zero_faces(engine: PhotoQualityEngine) -> None:
    blank = np.full((800, 640, 3), 200, np.uint8)
    report = engine.assess(blank)
    assert report.faces == 0
    assert report.failed == list(CHECK_NAMES)


def test_token_image_geometry(good_report) -> None:  # type: ignore[no-untyped-def]
    token = make_token(img.good(), good_report.landmarks)
    height, ied, (mx, my) = token_geometry(token.width)
    assert token.image.shape[:2] == (height, token.width)
    assert token.width >= 240 and height == round(token.width / 0.75)
    # Find the eyes again in the token: level, 0.25 W apart, centred at 0.6 W.
    eng = PhotoQualityEngine()
    try:
        again = eng.assess(token.image).landmarks
    finally:
        eng.close()
    assert again is not None
    assert again.inter_eye_distance == pytest.approx(ied, rel=0.08)
    assert again.eye_midpoint[0] == pytest.approx(mx, abs=0.03 * token.width)
    assert again.eye_midpoint[1] == pytest.approx(my, abs=0.03 * token.width)
    assert again.pose is not None and abs(again.pose.roll) < 2.0


def test_jpeg_of_good_portrait_stays_compliant(engine: PhotoQualityEngine) -> None:
    assert _failed(engine, img.jpeg(img.good(), 90)) == []


def test_noise_image_fails_without_crash(engine: PhotoQualityEngine) -> None:
    noise = np.random.default_rng(1).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    assert engine.assess(noise).compliant is False
    assert cv2.mean(noise)[0] > 0


def test_darker_skin_under_correct_exposure_stays_compliant(engine: PhotoQualityEngine) -> None:
    # The subject (not the backdrop) rendered darker and warmer: a darker complexion in the
    # same studio light must not read as under-exposure.
    good = img.good()
    person = cv2.resize(engine.models.person_mask(good), (good.shape[1], good.shape[0]))
    weight = cv2.GaussianBlur((person > 0.5).astype(np.float32), (0, 0), 3)[..., None]
    darker = np.clip(good.astype(np.float32) * 0.6 * np.array([0.9, 1.0, 1.08]), 0, 255)
    image = (good * (1 - weight) + darker * weight).astype(np.uint8)
    assert engine.assess(image).failed == []
