"""Portraits for face-engine tests: the simulated camera's scene (built from the
public-domain scikit-image astronaut portrait) and degradations generated here."""

from __future__ import annotations

import functools
from typing import Any

import cv2
import numpy as np

from drivers.sim.portrait import PortraitScene, render_portrait

W, H = 640, 800


@functools.lru_cache(maxsize=64)
def _scene(**kwargs: Any) -> np.ndarray:
    return render_portrait(PortraitScene(**kwargs), W, H, seed=3)


def scene(**kwargs: Any) -> np.ndarray:
    return _scene(**kwargs).copy()


def good() -> np.ndarray:
    return scene()


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def shift(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Move the content, filling with the border (an off-centre or cropped subject)."""
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(
        image, matrix, (image.shape[1], image.shape[0]), borderMode=cv2.BORDER_REPLICATE
    )


def crop_top(image: np.ndarray, fraction: float) -> np.ndarray:
    """Cut the crown off: drop the top rows and pad at the bottom."""
    rows = int(image.shape[0] * fraction)
    return cv2.copyMakeBorder(image[rows:], 0, rows, 0, 0, cv2.BORDER_REPLICATE)


def side_light(image: np.ndarray, strength: float = 0.6) -> np.ndarray:
    """Strong light from the subject's left: a gain ramp darkening the image's right."""
    ramp = np.linspace(1.0, 1.0 - strength, image.shape[1], dtype=np.float32)
    return np.clip(image * ramp[None, :, None], 0, 255).astype(np.uint8)


def hat(image: np.ndarray, eyes_y: int, left: int, right: int) -> np.ndarray:
    """A dark-blue cap pulled down to just above the eyebrows."""
    out = image.copy()
    centre = ((left + right) // 2, eyes_y - 40)
    axes = (int((right - left) * 0.9), int((right - left) * 0.75))
    cv2.ellipse(out, centre, axes, 0, 180, 360, (90, 40, 20), -1)
    cv2.rectangle(
        out,
        (centre[0] - axes[0], centre[1] - 12),
        (centre[0] + axes[0], centre[1]),
        (90, 40, 20),
        -1,
    )
    return out


def close_eyes(image: np.ndarray, contours: list[np.ndarray]) -> np.ndarray:
    """Closed eyes: inpaint each eye opening with the surrounding skin, then draw
    the lash line along the lower lid."""
    mask = np.zeros(image.shape[:2], np.uint8)
    for contour in contours:
        cv2.fillPoly(mask, [contour], 255)
    mask = cv2.dilate(mask, np.ones((9, 9), np.uint8))
    out = cv2.inpaint(image, mask, 7, cv2.INPAINT_TELEA)
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        centre = (x + w // 2, y + int(h * 0.6))
        cv2.ellipse(out, centre, (w // 2, max(2, h // 5)), 0, 0, 180, (45, 45, 60), 2)
    return out


def second_face(image: np.ndarray) -> np.ndarray:
    return scene(second_face=True)
