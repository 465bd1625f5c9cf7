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


def motion_blur(image: np.ndarray, length: int = 21, angle_deg: float = 0.0) -> np.ndarray:
    """A linear motion streak of ``length`` pixels at ``angle_deg``."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    centre = ((length - 1) / 2, (length - 1) / 2)
    rotate = cv2.getRotationMatrix2D(centre, angle_deg, 1.0)
    kernel = cv2.warpAffine(kernel, rotate, (length, length))
    return cv2.filter2D(image, -1, kernel / kernel.sum())


def upscaled(image: np.ndarray, factor: int) -> np.ndarray:
    """The photo reduced ``factor`` times and enlarged back (bicubic): no native detail."""
    height, width = image.shape[:2]
    small = cv2.resize(image, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def icao_crop(
    image: np.ndarray, landmarks: Any, inter_eye: float, head: float = 0.75
) -> np.ndarray:
    """A 35x45 mm-proportioned crop as a passport office cuts it.

    Chin to crown (about 2.05 T, T = eye midpoint to chin) fills ``head`` of the
    height, the eyes sit at 45 % of the height from the top, the face is
    centred, and the photo is resampled so that the inter-eye distance is
    ``inter_eye`` pixels.
    """
    mid, t = landmarks.eye_midpoint, landmarks.t_metric
    scale = inter_eye / landmarks.inter_eye_distance
    height = 2.05 * t / head
    width = height * 35 / 45
    x0, y0 = mid[0] - width / 2, mid[1] - 0.45 * height
    matrix = np.float32([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]])
    size = (round(width * scale), round(height * scale))
    flags = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(image, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)


def backdrop_gradient(image: np.ndarray, person: np.ndarray, low: float = 0.45) -> np.ndarray:
    """The backdrop relit from one side: brightness falls from 100 % to ``low`` across it.

    ``person`` is the segmenter's person probability (any size).
    """
    height, width = image.shape[:2]
    weight = cv2.resize(person, (width, height), interpolation=cv2.INTER_LINEAR)[..., None]
    ramp = np.linspace(1.0, low, width, dtype=np.float32)[None, :, None]
    relit = image.astype(np.float32) * ramp
    out = image.astype(np.float32) * weight + relit * (1 - weight)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def turned(
    image: np.ndarray, models: Any, yaw: float, pitch: float, roll: float = 0.0
) -> np.ndarray:
    """The portrait's head re-rendered in 3-D at a known pose (bench/face_render.py)."""
    from appliance.face.pose import rotation
    from bench.face_render import reconstruct, render

    landmarks = models.landmarks(image, models.detect(image)[0], iris=False)
    source = models.pose.rotation_3d(landmarks.mesh)
    head = reconstruct(image, landmarks.mesh, models.pose.canonical.triangles, source)
    centre = landmarks.mesh[:, :2].mean(axis=0)
    out, _ = render(
        head, rotation(yaw, pitch, roll), (image.shape[1], image.shape[0]),
        (float(centre[0]), float(centre[1])), background=image,
    )  # fmt: skip
    return out
