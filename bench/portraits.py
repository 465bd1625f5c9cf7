"""Public portraits that ship inside registry packages, for the face benches.

Only portraits of public figures released with the package are used, each
pinned by package, version, member path and SHA-256:

- ``astronaut``: Eileen Collins, NASA portrait (public domain), scikit-image
  0.26.0 (PyPI ``scikit-image``, installed): ``skimage/data/astronaut.png``
  (SHA-256 88431cd9...cb5);
- ``hopper``: Grace Hopper, US Navy portrait (public domain), matplotlib
  3.11.2 (PyPI ``matplotlib``, installed with mediapipe):
  ``matplotlib/mpl-data/sample_data/grace_hopper.jpg`` (SHA-256 a8ca6d73...130);
- ``obama`` and ``biden``: official White House portraits (US government
  works, public domain) in the source distribution of ``face-recognition``
  1.3.0 on PyPI (MIT): ``tests/test_images/obama.jpg``, ``biden.jpg``. The
  sdist is asked of pip (``pip download --no-binary``) once and cached; its
  SHA-256 and each member's are checked.

Nothing here runs in the appliance; the kiosk never downloads.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

SDIST = "face_recognition-1.3.0.tar.gz"
SDIST_SHA256 = "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec"
SDIST_MEMBERS = {
    "obama": (
        "face_recognition-1.3.0/tests/test_images/obama.jpg",
        "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6",
    ),
    "biden": (
        "face_recognition-1.3.0/tests/test_images/biden.jpg",
        "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c",
    ),
}
NAMES = ("astronaut", "hopper", "obama", "biden")
SOURCES = {
    "astronaut": "scikit-image 0.26.0 (PyPI), skimage/data/astronaut.png",
    "hopper": "matplotlib 3.11.2 (PyPI), matplotlib/mpl-data/sample_data/grace_hopper.jpg",
    "obama": f"face-recognition 1.3.0 sdist (PyPI), {SDIST_MEMBERS['obama'][0]}",
    "biden": f"face-recognition 1.3.0 sdist (PyPI), {SDIST_MEMBERS['biden'][0]}",
}


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "claim-appliance" / "portraits"


def load(name: str) -> Any:
    """The portrait as a BGR array."""
    if name == "astronaut":
        from skimage import data

        return cv2.cvtColor(np.asarray(data.astronaut()), cv2.COLOR_RGB2BGR)
    if name == "hopper":
        import matplotlib

        path = Path(matplotlib.__file__).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
        return _read(path)
    if name in SDIST_MEMBERS:
        return _read(_sdist_member(name))
    raise KeyError(name)


def _read(path: Path) -> Any:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(path)
    return image


def _sdist_member(name: str) -> Path:
    member, digest = SDIST_MEMBERS[name]
    target = cache_dir() / Path(member).name
    if target.is_file() and _sha256(target.read_bytes()) == digest:
        return target
    sdist = cache_dir() / SDIST
    if not sdist.is_file() or _sha256(sdist.read_bytes()) != SDIST_SHA256:
        cache_dir().mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary", ":all:", "--dest", str(cache_dir()), "face-recognition==1.3.0",
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        if _sha256(sdist.read_bytes()) != SDIST_SHA256:
            raise RuntimeError(f"{SDIST}: SHA-256 does not match the pin")
    with tarfile.open(sdist, "r:gz") as archive:
        handle = archive.extractfile(member)
        if handle is None:
            raise FileNotFoundError(member)
        data = handle.read(8 << 20)
    if _sha256(data) != digest:
        raise RuntimeError(f"{member}: SHA-256 does not match the pin")
    target.write_bytes(data)
    return target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
