"""Public portraits that ship inside registry packages, for face-match tests and the bench.

- scikit-image's astronaut (Eileen Collins, NASA, public domain);
- the official White House photographs in the ``face_recognition==1.3.0`` source
  distribution's tests (Barack Obama, three photos; Joe Biden, one): works of the
  US federal government, public domain.

``make install`` fetches the sdist with pip from the package registry (pinned by
SHA-256; ``python -m tests.public_portraits``) and keeps the four JPEGs, each
pinned by SHA-256 too, under ``<models dir>/../portraits``; tests and benches read
them from there (a missing file is fetched once, the same way).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import cv2
import numpy as np

from appliance.face.models import models_dir

SOURCE = "face_recognition==1.3.0"
SDIST = "face_recognition-1.3.0.tar.gz"
SDIST_SHA256 = "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
FILES = {"obama": ("obama.jpg", "obama2.jpg", "obama3.jpg"), "biden": ("biden.jpg",)}
MEMBER_SHA256 = {
    "obama.jpg": "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6",
    "obama2.jpg": "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6",
    "obama3.jpg": "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3",
    "biden.jpg": "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c",
}


def portraits_dir() -> Path:
    return models_dir().parent / "portraits"


def ensure() -> Path:
    target = portraits_dir()
    names = [n for group in FILES.values() for n in group]
    if all(_pinned(target / n) for n in names):
        return target
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary=:all:", "--dest", tmp, SOURCE],
            check=False, capture_output=True,
        )  # fmt: skip
        sdist = Path(tmp) / SDIST
        if hashlib.sha256(sdist.read_bytes()).hexdigest() != SDIST_SHA256:
            raise RuntimeError(f"{SDIST}: SHA-256 does not match the pin")
        with tarfile.open(sdist) as archive:
            for name in names:
                member = archive.extractfile(f"face_recognition-1.3.0/tests/test_images/{name}")
                assert member is not None
                data = member.read(8 << 20)
                if hashlib.sha256(data).hexdigest() != MEMBER_SHA256[name]:
                    raise RuntimeError(f"{name}: SHA-256 does not match the pin")
                (target / name).write_bytes(data)
    return target


def path(name: str) -> Path:
    """One of the pinned photos (``obama.jpg``, ...), fetched if missing."""
    return ensure() / name


def _pinned(file: Path) -> bool:
    return (
        file.is_file() and hashlib.sha256(file.read_bytes()).hexdigest() == MEMBER_SHA256[file.name]
    )


def load(name: str) -> np.ndarray:
    image = cv2.imread(str(ensure() / name), cv2.IMREAD_COLOR)
    assert image is not None, name
    return image


def astronaut() -> np.ndarray:
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def identities() -> dict[str, list[np.ndarray]]:
    """identity -> its photos (BGR)."""
    out = {who: [load(n) for n in names] for who, names in FILES.items()}
    out["astronaut"] = [astronaut()]
    return out


def as_dg2(image: np.ndarray, height: int = 320) -> bytes:
    """What a chip stores: the photo scaled to DG2 size, JPEG 2000 at ~15 kB."""
    scale = height / image.shape[0]
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jp2", small, [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 80])
    assert ok
    return data.tobytes()


def live_variants(image: np.ndarray) -> dict[str, np.ndarray]:
    """Capture-like variations of a photo: exposure, rotation, noise, blur."""
    h, w = image.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 6, 1.0)
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 8, image.shape)
    return {
        "as_is": image,
        "darker": np.clip(image * 0.65, 0, 255).astype(np.uint8),
        "rotated": cv2.warpAffine(image, rot, (w, h), borderMode=cv2.BORDER_REPLICATE),
        "noisy": np.clip(image + noise, 0, 255).astype(np.uint8),
        "blurred": cv2.GaussianBlur(image, (0, 0), 2.0),
    }


if __name__ == "__main__":  # make install: fetch once, so no test downloads anything
    print(ensure())
