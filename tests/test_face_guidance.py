"""Live guidance and auto-capture driven end to end by the simulated camera."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from appliance.face.engine import PhotoQualityEngine
from appliance.face.guidance import PROMPTS, AutoCapture, GuidanceEngine
from appliance.face.models import ModelError, model_path, verify
from appliance.face.token import encode, make_token
from drivers.sim.camera import SimCamera
from drivers.sim.config import SimCameraConfig
from drivers.sim.portrait import PortraitScene
from tests import face_images as img

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def engine() -> Iterator[PhotoQualityEngine]:
    eng = PhotoQualityEngine()
    yield eng
    eng.close()


async def test_simulated_camera_guides_then_auto_captures(engine: PhotoQualityEngine) -> None:
    camera = SimCamera(SimCameraConfig(type="sim", width=1024, height=768, fps=120.0))
    await camera.open()
    try:
        guidance = GuidanceEngine(engine)
        auto = AutoCapture(frames=3)
        seen: list[tuple[str, ...]] = []
        # The applicant sits too far back: the kiosk asks them to come closer.
        camera.set_scene(PortraitScene(distance=1.8))
        for _ in range(3):
            image = (await camera.read_frame()).image
            looked = guidance.analyse(image)
            assert auto.offer(image, looked.ok, looked.score) is None
            seen.append(looked.prompts)
        assert all("face.move_closer" in prompts for prompts in seen)
        # Dark glasses on: asked to remove them.
        camera.set_scene(PortraitScene(glasses="dark"))
        assert "face.remove_glasses" in guidance.analyse((await camera.read_frame()).image).prompts
        # Seated well and still: the gate hands over the best of three good frames in a row.
        camera.set_scene(PortraitScene())
        best = None
        for _ in range(10):
            image = (await camera.read_frame()).image
            looked = guidance.analyse(image)
            best = auto.offer(image, looked.ok, looked.score)
            if best is not None:
                break
        assert best is not None
        report = engine.assess(best)
        assert report.compliant and report.landmarks is not None
        token = make_token(best, report.landmarks)
        data, media_type = encode(token.image)
        assert media_type in {"image/jp2", "image/jpeg"}
        assert cv2.imdecode(np.frombuffer(data, np.uint8), 1).shape[1] == token.width
    finally:
        await camera.close()


def test_prompts_are_known_message_keys(engine: PhotoQualityEngine) -> None:
    guidance = GuidanceEngine(engine)
    for scene in (
        PortraitScene(mouth_open=True),
        PortraitScene(brightness=0.3),
        PortraitScene(roll_deg=15),
    ):
        frame = img.scene(**scene.__dict__)
        for key in guidance.analyse(frame).prompts:
            assert key in PROMPTS


def test_missing_model_has_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="appliance models fetch"):
        model_path("face_landmark.tflite", tmp_path)
    assert set(verify(tmp_path).values()) == {"missing"}
    assert set(verify().values()) == {"ok"}


def test_photo_check_cli_prints_one_object_per_file(tmp_path: Path) -> None:
    good = tmp_path / "good.jpg"
    cv2.imwrite(str(good), img.good(), [cv2.IMWRITE_JPEG_QUALITY, 95])
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    blurred = tmp_path / "blur.png"
    cv2.imwrite(str(blurred), img.scene(blur_sigma=4))
    done = subprocess.run(
        [sys.executable, "-m", "appliance", "photo-check", str(good), str(bad),
         str(tmp_path / "missing.jpg"), str(blurred), "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["file"] for line in lines] == [
        str(good),
        str(bad),
        str(tmp_path / "missing.jpg"),
        str(blurred),
    ]
    assert lines[0]["compliant"] is True and lines[0]["faces"] == 1 and lines[0]["failed"] == []
    assert set(lines[0]) == {"file", "compliant", "faces", "failed", "checks", "ms"}
    assert len(lines[0]["checks"]) == 28
    assert "error" in lines[1] and "error" in lines[2]
    assert lines[3]["compliant"] is False and "sharpness" in lines[3]["failed"]
    assert done.returncode == 1


def test_face_item_carries_token_and_quality_figures() -> None:
    from appliance.face.capture import FaceCaptureService, NoFaceFound

    service = FaceCaptureService()
    try:
        item = service.item_from_frame(img.good())
        assert item.metadata["icao_compliant"] == 1
        assert item.metadata["icao_failed"] == ""
        assert item.metadata["icao.inter_eye_distance"] >= 90
        assert item.metadata["height"] == round(item.metadata["width"] / 0.75)
        decoded = cv2.imdecode(np.frombuffer(item.data, np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape[:2] == (item.metadata["height"], item.metadata["width"])
        blurred = service.item_from_frame(img.scene(blur_sigma=4))
        assert blurred.metadata["icao_compliant"] == 0
        assert "sharpness" in blurred.metadata["icao_failed"].split(",")
        assert "face.keep_still" in blurred.prompts
        with pytest.raises(NoFaceFound):
            service.item_from_frame(np.full((480, 640, 3), 128, np.uint8))
    finally:
        service.close()


def test_auto_capture_gate_needs_an_unbroken_run_and_keeps_the_best_frame() -> None:
    frames = [np.full((2, 2, 3), value, np.uint8) for value in range(6)]
    gate = AutoCapture(frames=3)
    assert gate.offer(frames[0], True, 0.5) is None
    assert gate.offer(frames[1], False, 0.9) is None  # a bad frame breaks the run
    assert gate.offer(frames[2], True, 0.2) is None
    assert gate.offer(frames[3], True, 0.8) is None
    best = gate.offer(frames[4], True, 0.4)
    assert best is frames[3] and gate.streak == 0
