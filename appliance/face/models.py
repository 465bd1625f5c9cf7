"""Model files for the face engine: where they come from, where they live, how
they are verified.

mediapipe 1.x wheels carry no model files and the appliance never downloads at
run time. ``appliance models fetch`` (run by ``make install`` and the image
build) takes them from two pinned registry packages, verifies each package's
SHA-256, extracts the members below, verifies each file's SHA-256 and installs
them atomically into the models directory:

- mediapipe 0.10.21's wheel on PyPI (asked of pip), whose ``mediapipe/modules``
  tree holds the legacy ``.tflite`` models;
- ``@mediapipe/face_mesh`` 0.4.1657299874 on npm (asked of ``npm pack``), whose
  packed assets hold mediapipe's face-geometry metadata: the canonical face
  model (468 vertices in centimetres, its triangles) and the weighted landmark
  basis of mediapipe's Procrustes pose fit. The PyPI wheel does not ship it.

The models directory is, in order: ``$APPLIANCE_MODELS_DIR``; else
``<sys.prefix>/share/appliance/models`` (inside the venv, so the image build
ships it with the venv).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from appliance.model_files import sha256_file, verify_files

logger = logging.getLogger(__name__)

SOURCE_PACKAGE = "mediapipe==0.10.21"
SOURCE_WHEEL = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
SOURCE_WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
# The model files are architecture-independent; one wheel serves every kiosk.
_PIP_PLATFORM = ("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11")
NPM_PACKAGE = "@mediapipe/face_mesh@0.4.1657299874"
NPM_TARBALL = "mediapipe-face_mesh-0.4.1657299874.tgz"
NPM_TARBALL_SHA256 = "c08a7e0742a326285da666cf81d77c8b6f3a181a2ee948cadaf166008e0d3bc7"
NPM_ASSETS = "package/face_mesh_solution_packed_assets.data"
NPM_ASSETS_SHA256 = "dbe5905c582c0462cdaea17e7e6ecea92edaa8cccc515c5e2e7291f2cbb5fb99"
_MAX_MEMBER_BYTES = 64 << 20  # refuse a tarball member larger than this


@dataclass(frozen=True)
class ModelFile:
    name: str
    member: str  # path inside the source package
    sha256: str
    purpose: str
    source: str = "wheel"  # "wheel" (PyPI) or "npm"
    # Byte range of the file inside ``member`` (npm's packed assets hold several files;
    # the offsets are those listed in the package's face_mesh_solution_packed_assets_loader.js).
    byte_range: tuple[int, int] | None = None


MODELS: tuple[ModelFile, ...] = (
    ModelFile(
        "face_detection_short_range.tflite",
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        "BlazeFace face detector (faces within ~2 m), run by mediapipe's FaceDetector",
    ),
    ModelFile(
        "face_detection_full_range_sparse.tflite",
        "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
        "BlazeFace full-range detector (small faces too), one run per full check",
    ),
    ModelFile(
        "face_landmark.tflite",
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
        "468-point 3-D face mesh",
    ),
    ModelFile(
        "selfie_segmentation.tflite",
        "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
        "person / background segmentation, run by mediapipe's ImageSegmenter",
    ),
    ModelFile(
        "geometry_pipeline_metadata_landmarks.binarypb",
        NPM_ASSETS,
        "bdbcda96dfcb7da883da124aaa2c55dee49770d934f0fcc71747f8c21bdc75b4",
        "canonical face model and Procrustes landmark weights (head pose)",
        source="npm",
        byte_range=(3737848, 3757224),
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
    return verify_files(MODELS, directory or models_dir())


def install_from_wheel(wheel: Path, directory: Path) -> list[Path]:
    """Verify ``wheel`` and install its pinned members into ``directory``."""
    if sha256_file(wheel) != SOURCE_WHEEL_SHA256:
        raise ModelError(f"{wheel.name}: SHA-256 does not match the pinned {SOURCE_WHEEL}")
    written: list[Path] = []
    with zipfile.ZipFile(wheel) as archive:
        for model in MODELS:
            if model.source == "wheel":
                info = archive.getinfo(model.member)
                if info.file_size > _MAX_MEMBER_BYTES:
                    raise ModelError(f"{model.member}: larger than expected")
                written.append(_install(model, archive.read(info), directory))
    return written


def install_from_npm_tarball(tarball: Path, directory: Path) -> list[Path]:
    """Verify the npm ``tarball`` and install its pinned members into ``directory``."""
    if sha256_file(tarball) != NPM_TARBALL_SHA256:
        raise ModelError(f"{tarball.name}: SHA-256 does not match the pinned {NPM_TARBALL}")
    written: list[Path] = []
    with tarfile.open(tarball, "r:gz") as archive:
        member = archive.getmember(NPM_ASSETS)
        if not member.isfile() or member.size > _MAX_MEMBER_BYTES:
            raise ModelError(f"{NPM_ASSETS}: not a regular file of the expected size")
        handle = archive.extractfile(member)
        if handle is None:
            raise ModelError(f"{NPM_ASSETS}: unreadable")
        assets = handle.read()
    if hashlib.sha256(assets).hexdigest() != NPM_ASSETS_SHA256:
        raise ModelError(f"{NPM_ASSETS}: SHA-256 does not match the pin")
    for model in MODELS:
        if model.source == "npm" and model.byte_range is not None:
            start, end = model.byte_range
            written.append(_install(model, assets[start:end], directory))
    return written


def _install(model: ModelFile, data: bytes, directory: Path) -> Path:
    if hashlib.sha256(data).hexdigest() != model.sha256:
        raise ModelError(f"{model.name} ({model.member}): SHA-256 does not match the pin")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / model.name
    tmp = target.with_suffix(".partial")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def fetch(
    directory: Path | None = None, wheel: Path | None = None, npm_tarball: Path | None = None
) -> list[Path]:
    """Install the models, asking pip and npm for the pinned packages unless given.

    Nothing happens when every model is already present and verified.
    """
    base = directory or models_dir()
    verdicts = verify(base)
    if wheel is None and npm_tarball is None and all(v == "ok" for v in verdicts.values()):
        return [base / model.name for model in MODELS]
    wanted = {m.source for m in MODELS if verdicts[m.name] != "ok"}
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="appliance-models-") as tmp:
        if wheel is not None or "wheel" in wanted:
            written += install_from_wheel(wheel or _pip_download(Path(tmp)), base)
        if npm_tarball is not None or "npm" in wanted:
            written += install_from_npm_tarball(npm_tarball or _npm_pack(Path(tmp)), base)
    return written


def _pip_download(tmp: Path) -> Path:
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", *_PIP_PLATFORM, "--dest", str(tmp), SOURCE_PACKAGE,
    ]  # fmt: skip
    logger.info("downloading %s from the package registry", SOURCE_PACKAGE)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ModelError(f"pip download {SOURCE_PACKAGE} failed: {done.stderr.strip()[-300:]}")
    downloaded = tmp / SOURCE_WHEEL
    if not downloaded.is_file():
        raise ModelError(f"pip did not produce {SOURCE_WHEEL}")
    return downloaded


def _npm_pack(tmp: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise ModelError(
            f"npm is needed once, at install time, to fetch {NPM_PACKAGE} "
            "(the face-geometry model); install npm or pass the tarball"
        )
    command = [npm, "pack", "--silent", "--pack-destination", str(tmp), NPM_PACKAGE]
    logger.info("downloading %s from the package registry", NPM_PACKAGE)
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=tmp)
    if done.returncode != 0:
        raise ModelError(f"npm pack {NPM_PACKAGE} failed: {done.stderr.strip()[-300:]}")
    packed = tmp / NPM_TARBALL
    if not packed.is_file():
        raise ModelError(f"npm did not produce {NPM_TARBALL}")
    return packed
