"""The simulated camera's scene: a frontal portrait with controllable defects.

The subject is the public-domain NASA portrait that ships inside scikit-image
(``skimage.data.astronaut``, Eileen Collins) — no other real face is used.
Once per process the renderer cuts the person out of the studio backdrop
(GrabCut seeded from hand-placed regions; no model download), closes the
smiling mouth (inpainting the teeth), and keeps her eye and mouth positions.
Each frame then places the head in the camera frame and applies the requested
defects:

- geometry: distance (head size), offset, roll (exact), yaw and pitch
  (approximated by a perspective warp of the flat photo: a real head turn
  also changes occlusion, which a 2-D warp cannot show);
- light: brightness, side lighting, colour cast, blur, sensor noise;
- appearance: dark glasses, an eye bar, a mask over mouth and nose, open
  mouth (the original smile), a second face;
- background: plain, cluttered or coloured.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from drivers.interfaces import ImageU8

FloatArray = npt.NDArray[np.float32]

# Landmarks of the source portrait (pixels in the 512 x 512 image).
_LEFT_EYE = (203.0, 100.0)  # the subject's right eye, on the viewer's left
_RIGHT_EYE = (247.0, 104.0)
_MOUTH = (225.0, 145.0)
_TEETH = (206, 138, 38, 14)  # x, y, w, h of the visible teeth
_HEAD_TOP = 14.0
_CHIN = 178.0
_PLAIN_BACKGROUND = (214, 214, 212)  # BGR light grey, as ICAO photos use


@dataclass(frozen=True)
class PortraitScene:
    """What the camera sees. The defaults give an ICAO-compliant frontal portrait."""

    distance: float = 1.0  # 1 = head fills ~62 % of the frame height; 2 = half that
    offset_x: float = 0.0  # head centre shift, fraction of frame width
    offset_y: float = 0.0  # fraction of frame height
    roll_deg: float = 0.0
    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    brightness: float = 1.0  # multiplies luminance
    side_light: float = 0.0  # -1..1: darker left .. darker right
    colour_cast: tuple[float, float, float] = (1.0, 1.0, 1.0)  # B, G, R gains
    blur_sigma: float = 0.0
    noise_sigma: float = 2.0
    background: Literal["plain", "cluttered", "coloured"] = "plain"
    glasses: Literal["none", "dark"] = "none"
    eye_bar: bool = False
    mask: bool = False
    mouth_open: bool = False
    second_face: bool = False


@functools.lru_cache(maxsize=1)
def _source() -> tuple[ImageU8, ImageU8, FloatArray]:
    """(closed-mouth portrait, original portrait, person alpha) in BGR, cached."""
    from skimage import data

    rgb = np.asarray(data.astronaut(), dtype=np.uint8)  # type: ignore[no-untyped-call]
    original = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), dtype=np.uint8)
    closed = _close_mouth(original)
    alpha = _person_alpha(original)
    return closed, original, alpha


def _close_mouth(image: ImageU8) -> ImageU8:
    x, y, w, h = _TEETH
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(mask, (x + w // 2, y + h // 2), (w // 2 + 2, h // 2 + 2), 0, 0, 360, 255, -1)
    closed = cv2.inpaint(image, mask, 5, cv2.INPAINT_TELEA)
    lips = (int(_MOUTH[0]), int(_MOUTH[1]) - 1)
    cv2.ellipse(closed, lips, (w // 2 - 2, 2), 0, 0, 180, (70, 60, 120), 1, cv2.LINE_AA)
    return np.asarray(closed, dtype=np.uint8)


def _person_alpha(image: ImageU8) -> FloatArray:
    """Soft person mask from GrabCut, seeded with regions known from the layout."""
    mask = np.full(image.shape[:2], cv2.GC_PR_BGD, np.uint8)
    cv2.ellipse(mask, (226, 100), (70, 86), 0, 0, 360, cv2.GC_PR_FGD, -1)  # head and hair
    cv2.rectangle(mask, (40, 170), (360, 511), cv2.GC_PR_FGD, -1)  # suit
    cv2.ellipse(mask, (225, 115), (38, 60), 0, 0, 360, cv2.GC_FGD, -1)  # face
    cv2.rectangle(mask, (150, 200), (300, 511), cv2.GC_FGD, -1)  # chest
    mask[:6, :] = cv2.GC_BGD
    mask[:150, :110] = cv2.GC_BGD  # flag, above the shoulder
    mask[150:330, :60] = cv2.GC_BGD  # flag, beside the shoulder
    mask[:, :22] = cv2.GC_BGD
    mask[:300, 370:] = cv2.GC_BGD  # shuttle model
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(7)
    cv2.grabCut(
        image,
        mask,
        None,
        background_model,
        foreground_model,
        4,
        cv2.GC_INIT_WITH_MASK,  # type: ignore[call-overload]
    )
    person = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    # Keep the component that holds the face; smooth the edge.
    count, labels = cv2.connectedComponents(person)
    if count > 1:
        person = (labels == labels[115, 225]).astype(np.uint8)
    closed = np.asarray(cv2.morphologyEx(person, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8)))
    return np.asarray(cv2.GaussianBlur(closed.astype(np.float32), (0, 0), 1.5), np.float32)


def _background(scene: PortraitScene, width: int, height: int) -> FloatArray:
    if scene.background == "coloured":
        base = np.empty((height, width, 3), np.float32)
        base[:] = (200, 120, 60)  # saturated blue
        return base
    base = np.empty((height, width, 3), np.float32)
    base[:] = _PLAIN_BACKGROUND
    # A studio backdrop is never perfectly flat: a faint vertical gradient.
    base *= np.linspace(1.02, 0.97, height, dtype=np.float32)[:, None, None]
    if scene.background == "cluttered":
        rng = np.random.default_rng(1234)  # the room does not change between frames
        for _ in range(40):
            colour = rng.integers(0, 255, 3).tolist()
            x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
            w, h = int(rng.integers(20, width // 3)), int(rng.integers(20, height // 3))
            cv2.rectangle(base, (x, y), (x + w, y + h), colour, -1)
        for _ in range(25):
            colour = rng.integers(0, 255, 3).tolist()
            p1 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            p2 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            cv2.line(base, p1, p2, colour, int(rng.integers(2, 8)))
    return base


def _placement(scene: PortraitScene, width: int, height: int) -> npt.NDArray[np.float64]:
    """3x3 homography from source pixels to frame pixels."""
    head_height = (_CHIN - _HEAD_TOP) * 1.25  # hair to chin, plus a margin for the crown
    scale = 0.62 * height / head_height / max(scene.distance, 0.05)
    centre_src = ((_LEFT_EYE[0] + _RIGHT_EYE[0]) / 2, (_HEAD_TOP + _CHIN) / 2)
    centre_dst = (width * (0.5 + scene.offset_x), height * (0.47 + scene.offset_y))
    eye_tilt = math.degrees(math.atan2(_RIGHT_EYE[1] - _LEFT_EYE[1], _RIGHT_EYE[0] - _LEFT_EYE[0]))
    similarity = cv2.getRotationMatrix2D(centre_src, eye_tilt + scene.roll_deg, scale)
    similarity[:, 2] += np.array(centre_dst) - np.array(centre_src)
    matrix = np.vstack([similarity, [0.0, 0.0, 1.0]])
    if scene.yaw_deg or scene.pitch_deg:
        # Perspective of a plane turned about the head centre (focal length ~ frame width).
        focal = float(width)
        yaw, pitch = math.radians(scene.yaw_deg), math.radians(scene.pitch_deg)
        rot_y = np.array(
            [[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]]
        )
        rot_x = np.array(
            [
                [1, 0, 0],
                [0, math.cos(pitch), -math.sin(pitch)],
                [0, math.sin(pitch), math.cos(pitch)],
            ]
        )
        k = np.array([[focal, 0, centre_dst[0]], [0, focal, centre_dst[1]], [0, 0, 1]])
        rot = rot_y @ rot_x
        # Frame point (u, v) -> rotated 3-D point R @ (u - cx, v - cy, 0) + (0, 0, f).
        plane = np.column_stack(
            [
                rot[:, 0],
                rot[:, 1],
                -centre_dst[0] * rot[:, 0] - centre_dst[1] * rot[:, 1] + np.array([0, 0, focal]),
            ]
        )
        turn = k @ plane
        matrix = (turn / turn[2, 2]) @ matrix
    return matrix


def _source_layer(scene: PortraitScene) -> tuple[FloatArray, FloatArray]:
    closed, original, alpha = _source()
    image = (original if scene.mouth_open else closed).astype(np.float32)
    image = image.copy()
    if scene.glasses == "dark" or scene.eye_bar:
        _cover_eyes(image, bar=scene.eye_bar)
    if scene.mask:
        mask_colour = (235.0, 225.0, 215.0)
        cv2.ellipse(image, (225, 150), (52, 34), 0, 0, 360, mask_colour, -1, cv2.LINE_AA)
        cv2.rectangle(image, (176, 128), (274, 150), mask_colour, -1)
    return image, alpha


def _cover_eyes(image: FloatArray, *, bar: bool) -> None:
    if bar:
        cv2.rectangle(image, (182, 88), (268, 116), (0.0, 0.0, 0.0), -1)
        return
    for cx, cy in (_LEFT_EYE, _RIGHT_EYE):
        cv2.ellipse(
            image, (int(cx), int(cy)), (19, 13), 0, 0, 360, (25.0, 22.0, 20.0), -1, cv2.LINE_AA
        )
    cv2.line(
        image,
        (int(_LEFT_EYE[0]) + 18, 100),
        (int(_RIGHT_EYE[0]) - 18, 102),
        (30.0, 30.0, 30.0),
        3,
        cv2.LINE_AA,
    )


def render_portrait(scene: PortraitScene, width: int, height: int, seed: int = 0) -> ImageU8:
    """Render one BGR uint8 frame of the scene.

    The noise-free picture depends only on the scene and the size, so it is
    rendered once and cached; each frame adds sensor noise from a small bank
    of precomputed fields chosen by ``seed`` (deterministic per seed). This
    keeps a 1024x768 preview above 30 fps on a small CPU.
    """
    clean = _clean_frame(scene, width, height)
    if scene.noise_sigma <= 0:
        return np.clip(clean, 0, 255).astype(np.uint8)
    noise = _noise_bank(width, height, float(scene.noise_sigma))[seed % _NOISE_FIELDS]
    frame: ImageU8 = np.clip(clean + noise, 0, 255).astype(np.uint8)
    return frame


_NOISE_FIELDS = 8


@functools.lru_cache(maxsize=8)
def _clean_frame(scene: PortraitScene, width: int, height: int) -> npt.NDArray[np.int16]:
    image, alpha = _source_layer(scene)
    frame = _background(scene, width, height)
    layers = [(_placement(scene, width, height), image, alpha)]
    if scene.second_face:
        other = PortraitScene(distance=scene.distance * 1.6, offset_x=0.33, offset_y=0.05)
        layers.insert(0, (_placement(other, width, height), image, alpha))
    for matrix, source, source_alpha in layers:
        warped = cv2.warpPerspective(source, matrix, (width, height), flags=cv2.INTER_CUBIC)
        weight = cv2.warpPerspective(source_alpha, matrix, (width, height), flags=cv2.INTER_LINEAR)
        frame = frame * (1.0 - weight[..., None]) + warped * weight[..., None]
    frame = _light(frame, scene, width)
    if scene.blur_sigma > 0:
        frame = np.asarray(cv2.GaussianBlur(frame, (0, 0), scene.blur_sigma), np.float32)
    clean = np.round(np.clip(frame, -1000, 1000)).astype(np.int16)
    clean.flags.writeable = False
    return clean


@functools.lru_cache(maxsize=4)
def _noise_bank(width: int, height: int, sigma: float) -> tuple[npt.NDArray[np.int16], ...]:
    rng = np.random.default_rng(20261126)
    fields = []
    for _ in range(_NOISE_FIELDS):
        field = np.round(rng.standard_normal((height, width, 3), dtype=np.float32) * sigma)
        noise = field.astype(np.int16)
        noise.flags.writeable = False
        fields.append(noise)
    return tuple(fields)


def _light(frame: FloatArray, scene: PortraitScene, width: int) -> FloatArray:
    gain = np.float32(scene.brightness)
    if scene.side_light:
        ramp = np.linspace(-1.0, 1.0, width, dtype=np.float32)
        profile = 1.0 + 0.6 * scene.side_light * ramp
        frame = frame * np.clip(profile, 0.1, 2.0)[None, :, None]
    cast = np.array(scene.colour_cast, dtype=np.float32)
    return (frame * gain * cast[None, None, :]).astype(np.float32)
