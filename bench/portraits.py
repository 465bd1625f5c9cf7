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

from pathlib import Path
from typing import Any

import cv2
import numpy as np

NAMES = ("astronaut", "hopper", "obama", "biden")
SOURCES = {
    "astronaut": "scikit-image 0.26.0 (PyPI), skimage/data/astronaut.png",
    "hopper": "matplotlib 3.11.2 (PyPI), matplotlib/mpl-data/sample_data/grace_hopper.jpg",
    "obama": "face-recognition 1.3.0 sdist (PyPI), tests/test_images/obama.jpg",
    "biden": "face-recognition 1.3.0 sdist (PyPI), tests/test_images/biden.jpg",
}


def load(name: str) -> Any:
    """The portrait as a BGR array."""
    if name == "astronaut":
        from skimage import data

        return cv2.cvtColor(np.asarray(data.astronaut()), cv2.COLOR_RGB2BGR)
    if name == "hopper":
        import matplotlib

        path = Path(matplotlib.__file__).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
        return _read(path)
    if name in ("obama", "biden"):
        from tests.public_portraits import path

        return _read(path(f"{name}.jpg"))
    raise KeyError(name)


def _read(path: Path) -> Any:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(path)
    return image
