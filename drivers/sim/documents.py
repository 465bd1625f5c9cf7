"""Synthetic scenes for the document camera: a specimen card and an appointment QR.

Like the other simulated devices, these let the demo, the tests and the benchmark run
the document and QR steps on a faithful picture without any real document:
the card is a drawn SPECIMEN (no real person, a silhouette for the photo)
lying tilted on a desk, so perspective correction has real work to do.
"""

from __future__ import annotations

import cv2
import numpy as np

from drivers.interfaces import ImageU8

_DESK_BGR = (60, 78, 92)


def encode_qr(text: str, module_px: int = 8) -> ImageU8:
    """A QR code image (grey, white quiet zone) for tests and the simulated camera."""
    encoder = cv2.QRCodeEncoder.create()
    code = encoder.encode(text)
    scaled = cv2.resize(code, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    bordered = cv2.copyMakeBorder(scaled, 32, 32, 32, 32, cv2.BORDER_CONSTANT, value=255)
    return np.asarray(bordered, dtype=np.uint8)


def _desk(width: int, height: int, seed: int) -> ImageU8:
    rng = np.random.default_rng(seed)
    desk = np.full((height, width, 3), _DESK_BGR, np.uint8)
    grain = rng.normal(0, 6, (height, width, 1)).astype(np.int16)
    return np.asarray(np.clip(desk.astype(np.int16) + grain, 0, 255), dtype=np.uint8)


def specimen_card(width: int = 856, height: int = 540) -> ImageU8:
    """An ID-1 specimen card, flat (85.6 x 54 mm at 10 px/mm)."""
    card = np.full((height, width, 3), (236, 228, 214), np.uint8)
    cv2.rectangle(card, (14, 14), (width - 15, 80), (150, 90, 40), -1)
    cv2.putText(card, "RESIDENCE PERMIT", (34, 62), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (255,) * 3, 3)
    cv2.rectangle(card, (30, 100), (250, 380), (200, 200, 200), -1)
    cv2.circle(card, (140, 190), 55, (140, 140, 140), -1)  # a silhouette, not a face
    cv2.ellipse(card, (140, 380), (95, 110), 0, 180, 360, (140, 140, 140), -1)
    for row, text in enumerate(["SURNAME  SPECIMEN", "GIVEN NAMES  TEST", "NATIONALITY  XXX"]):
        cv2.putText(
            card, text, (290, 140 + 60 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (40, 40, 40), 2
        )
    cv2.putText(card, "SPECIMEN", (300, 340), cv2.FONT_HERSHEY_DUPLEX, 1.8, (60, 60, 200), 4)
    for row in range(2):
        cv2.putText(
            card,
            "IDPRT<<SPECIMEN<<TEST<<<<<<<<<<<<<"[: 30 + row],
            (30, 450 + 40 * row),
            cv2.FONT_HERSHEY_PLAIN,
            2.0,
            (30, 30, 30),
            2,
        )
    return card


def _place(
    flat: ImageU8,
    corners: list[tuple[float, float]],
    width: int,
    height: int,
    seed: int,
    scene: ImageU8 | None = None,
) -> ImageU8:
    scene = _desk(width, height, seed) if scene is None else scene
    h, w = flat.shape[:2]
    source = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
    target = np.array([(x * width, y * height) for x, y in corners], np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    warped = cv2.warpPerspective(flat, matrix, (width, height))
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, (width, height))
    scene[mask > 0] = warped[mask > 0]
    return scene


def document_scene(
    width: int = 1024, height: int = 768, seed: int = 0, card: ImageU8 | None = None
) -> ImageU8:
    """A document lying tilted on a desk, as a document camera sees it (``card``: the
    flat document, the built-in specimen card by default)."""
    corners = [(0.16, 0.18), (0.80, 0.22), (0.78, 0.78), (0.13, 0.72)]
    return _place(specimen_card() if card is None else card, corners, width, height, seed)


def qr_scene(text: str, width: int = 1024, height: int = 768, seed: int = 0) -> ImageU8:
    """An appointment letter's QR code held under the camera."""
    code = cv2.cvtColor(encode_qr(text), cv2.COLOR_GRAY2BGR)
    corners = [(0.33, 0.20), (0.67, 0.22), (0.66, 0.76), (0.32, 0.74)]
    return _place(np.asarray(code, np.uint8), corners, width, height, seed)


def counter_scene(
    text: str,
    width: int = 1024,
    height: int = 768,
    seed: int = 0,
    card: ImageU8 | None = None,
) -> ImageU8:
    """What the document camera sees at the counter: the document and the appointment slip."""
    corners = [(0.03, 0.32), (0.64, 0.35), (0.62, 0.86), (0.01, 0.80)]
    scene = _place(specimen_card() if card is None else card, corners, width, height, seed)
    code = cv2.cvtColor(encode_qr(text, module_px=6), cv2.COLOR_GRAY2BGR)
    slip = [(0.68, 0.06), (0.97, 0.07), (0.96, 0.45), (0.67, 0.44)]
    return _place(np.asarray(code, np.uint8), slip, width, height, seed, scene)
