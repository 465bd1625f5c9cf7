"""Render SPECIMEN documents in OCR-B and "photograph" them, deterministic by seed.

The MRZ is set in OCR-B from Debian's ``fonts-ocr-b`` at ICAO's pitch (10
characters per inch) on an ID-1 card (TD1, 85.6 x 54 mm), an ID-2 card (TD2,
105 x 74 mm) or an ID-3 passport page (TD3, 125 x 88 mm), beside a guilloche
background, a synthetic portrait and a visual zone marked SPECIMEN. The
photograph puts the document on a table with perspective and rotation, then
uneven and low light, glare, defocus and motion blur, sensor noise and JPEG
compression; or crops the MRZ band tightly.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from appliance.documents.mrz_parse import geometry_of
from appliance.documents.specimen_data import SpecimenIdentity
from drivers.interfaces import ImageU8

OCR_B_FONT = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")
PX_PER_MM = 12.0
MRZ_PITCH_MM = 2.54  # 10 characters per inch
#: width, height (mm), MRZ line spacing (mm), MRZ left margin (mm)
DOCUMENT_MM = {
    "TD1": (85.6, 53.98, 4.3, 4.7),
    "TD2": (105.0, 74.0, 4.3, 6.7),
    "TD3": (125.0, 88.0, 4.3, 6.6),
}


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    """OCR-B (Debian's fonts-ocr-b, which the tests and the bench install); without it, as
    on a developer's machine running ``make run`` unprivileged, matplotlib's DejaVu Sans
    Mono stands in for the demo's simulated documents."""
    if OCR_B_FONT.is_file():
        return ImageFont.truetype(str(OCR_B_FONT), size)
    import matplotlib

    fallback = (
        Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSansMono.ttf"
    )
    return ImageFont.truetype(str(fallback), size)


def _guilloche(draw: ImageDraw.ImageDraw, width: int, height: int, rng: random.Random) -> None:
    hue = rng.choice(((200, 225, 240), (225, 215, 240), (215, 240, 220), (240, 228, 210)))
    for k in range(28):
        phase, freq, amp = rng.uniform(0, 6.28), rng.uniform(2, 5), rng.uniform(8, 30)
        base = height * k / 28
        points = [
            (x, base + amp * math.sin(freq * 2 * math.pi * x / width + phase))
            for x in range(0, width + 8, 8)
        ]
        draw.line(points, fill=hue, width=2)


def _portrait(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], rng: random.Random
) -> None:
    x0, y0, x1, y1 = box
    draw.rectangle(box, fill=(205, 210, 215))
    w, h = x1 - x0, y1 - y0
    skin = rng.choice(((224, 190, 160), (190, 140, 110), (140, 100, 75), (240, 210, 185)))
    draw.chord(
        (x0 + w * 0.1, y0 + h * 0.72, x1 - w * 0.1, y1 + h * 0.28), 180, 360, fill=(70, 80, 110)
    )
    draw.ellipse((x0 + w * 0.25, y0 + h * 0.15, x1 - w * 0.25, y0 + h * 0.78), fill=skin)
    draw.chord(
        (x0 + w * 0.22, y0 + h * 0.08, x1 - w * 0.22, y0 + h * 0.5), 180, 360, fill=(50, 40, 35)
    )


def render_document(identity: SpecimenIdentity, lines: tuple[str, ...], seed: int) -> ImageU8:
    """A flat, upright SPECIMEN document (BGR) carrying ``lines`` as its MRZ."""
    rng = random.Random(seed)
    geometry = geometry_of(identity.kind)
    w_mm, h_mm, spacing_mm, margin_mm = DOCUMENT_MM[geometry]
    width, height = round(w_mm * PX_PER_MM), round(h_mm * PX_PER_MM)
    image = Image.new("RGB", (width, height), (246, 244, 236))
    draw = ImageDraw.Draw(image)
    _guilloche(draw, width, height, rng)
    mm = PX_PER_MM
    mrz_top = height - (len(lines) * spacing_mm + 2.5) * mm
    photo = (round(4 * mm), round(12 * mm), round(4 * mm + 0.3 * width), round(mrz_top - 3 * mm))
    _portrait(draw, photo, rng)
    small = _font(round(2.6 * mm))
    draw.text(
        (4 * mm, 3 * mm),
        f"{identity.issuer}  SPECIMEN",
        font=_font(round(4 * mm)),
        fill=(60, 40, 120),
    )
    labels = (
        ("SURNAME", identity.surname),
        ("GIVEN NAMES", identity.given_names),
        ("DATE OF BIRTH", identity.birth_date),
        ("DOCUMENT NO", identity.document_number),
        ("EXPIRY", identity.expiry_date),
    )
    x, y = photo[2] + 4 * mm, 12 * mm
    step = (mrz_top - 3 * mm - y) / len(labels)
    for label, value in labels:
        draw.text((x, y), label, font=_font(round(1.8 * mm)), fill=(90, 90, 110))
        draw.text((x, y + 2.2 * mm), value, font=small, fill=(20, 20, 30))
        y += step
    draw.text(
        (width * 0.45, height * 0.25), "SPECIMEN", font=_font(round(7 * mm)), fill=(235, 190, 190)
    )
    _draw_mrz(draw, lines, margin_mm, height - (len(lines) * spacing_mm + 1.2) * mm, spacing_mm)
    return np.ascontiguousarray(np.asarray(image)[:, :, ::-1])


def _draw_mrz(
    draw: ImageDraw.ImageDraw, lines: tuple[str, ...], margin_mm: float, top: float, spacing: float
) -> None:
    mm = PX_PER_MM
    font = _font(round(3.3 * mm))  # OCR-B size I: capitals about 2.4 mm high
    for row, line in enumerate(lines):
        for col, char in enumerate(line):
            x = (margin_mm + col * MRZ_PITCH_MM) * mm
            draw.text((x, top + row * spacing * mm), char, font=font, fill=(15, 15, 20))


@dataclass(frozen=True)
class PhotoConditions:
    """How a document is photographed; every default is a clean, square shot."""

    frame: tuple[int, int] = (1600, 1200)
    fill: float = 0.8  # document width / frame width
    rotation_deg: float = 0.0
    perspective: float = 0.0  # corner displacement, fraction of the document width
    light: float = 1.0  # overall gain (low light < 0.5)
    gradient: float = 0.0  # uneven light, 0..1
    glare: float = 0.0  # peak of a specular highlight, 0..1
    blur_sigma: float = 0.0
    motion_px: int = 0
    noise_sigma: float = 0.0
    jpeg_quality: int = 95
    band_only: bool = False  # crop the MRZ band tightly instead of a whole photo
    hide_mrz: bool = False  # the frame cuts the MRZ off


def random_conditions(rng: random.Random, difficulty: str) -> PhotoConditions:
    """``readable`` (a usable photo, possibly poor) or ``unreadable`` (it is not)."""
    if difficulty == "unreadable":
        mode = rng.choice(("blur", "cut", "dark"))
        return PhotoConditions(
            fill=rng.uniform(0.5, 0.8),
            rotation_deg=rng.uniform(-6, 6),
            blur_sigma=rng.uniform(7, 10) if mode == "blur" else 0.5,
            hide_mrz=mode == "cut",
            light=0.05 if mode == "dark" else 1.0,
            noise_sigma=18.0 if mode == "dark" else 2.0,
            jpeg_quality=60,
        )
    return PhotoConditions(
        fill=rng.uniform(0.6, 0.95),
        rotation_deg=rng.uniform(-12, 12),
        perspective=rng.uniform(0, 0.08),
        light=rng.uniform(0.45, 1.1),
        gradient=rng.uniform(0, 0.5),
        glare=rng.choice((0.0, 0.0, rng.uniform(0.2, 0.6))),
        blur_sigma=rng.uniform(0, 1.6),
        motion_px=rng.choice((0, 0, 0, rng.randint(3, 7))),
        noise_sigma=rng.uniform(0, 7),
        jpeg_quality=rng.randint(55, 95),
        band_only=rng.random() < 0.15,
    )


def _mrz_band(doc: ImageU8, lines: int, geometry: str) -> ImageU8:
    height = doc.shape[0]
    spacing = DOCUMENT_MM[geometry][2] * PX_PER_MM
    top = max(0, round(height - (lines * spacing + 2.5 * PX_PER_MM)))
    return doc[top:, :]


def photograph(
    doc: ImageU8, geometry: str, lines: int, cond: PhotoConditions, seed: int
) -> ImageU8:
    """``doc`` as a camera would see it under ``cond`` (BGR, uint8)."""
    rng = np.random.default_rng(seed)
    if cond.band_only:
        doc = _mrz_band(doc, lines, geometry)
        frame_w = doc.shape[1] + 80
        frame = (frame_w, doc.shape[0] + 60)
        fill = doc.shape[1] / frame_w
        cond = replace(
            cond,
            perspective=min(cond.perspective, 0.01),
            rotation_deg=max(-3.0, min(3.0, cond.rotation_deg)),
        )
    else:
        frame, fill = cond.frame, cond.fill
    fw, fh = frame
    dh, dw = doc.shape[:2]
    scale = fill * fw / dw
    if cond.hide_mrz:  # aim at the top half: the MRZ falls out of the frame
        centre = (fw / 2, fh * 0.95)
    else:
        centre = (fw / 2 + rng.uniform(-0.05, 0.05) * fw, fh / 2 + rng.uniform(-0.05, 0.05) * fh)
    corners = np.array([[-dw / 2, -dh / 2], [dw / 2, -dh / 2], [dw / 2, dh / 2], [-dw / 2, dh / 2]])
    corners = corners * scale + rng.uniform(-1, 1, (4, 2)) * cond.perspective * dw * scale
    angle = math.radians(cond.rotation_deg)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    corners = corners @ rot.T
    if not cond.hide_mrz:  # the whole document stays in the frame
        span = corners.max(axis=0) - corners.min(axis=0)
        corners *= min(1.0, (fw - 24) / span[0], (fh - 24) / span[1])
        low, high = corners.min(axis=0), corners.max(axis=0)
        centre = np.clip(centre, 12 - low, np.array([fw - 12, fh - 12]) - high)
    target = (corners + np.array(centre)).astype(np.float32)
    source = np.array([[0, 0], [dw, 0], [dw, dh], [0, dh]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, target)
    table = np.full((fh, fw, 3), rng.integers(60, 140, 3), dtype=np.float32)
    table += rng.normal(0, 6, (fh, fw, 1)).astype(np.float32)
    warped = cv2.warpPerspective(
        doc, matrix, (fw, fh), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    )
    mask = cv2.warpPerspective(np.ones((dh, dw), np.float32), matrix, (fw, fh))[:, :, None]
    image = table * (1 - mask) + warped.astype(np.float32) * mask
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    direction = rng.uniform(0, 2 * math.pi)
    ramp = (xx / fw - 0.5) * math.cos(direction) + (yy / fh - 0.5) * math.sin(direction)
    image *= (cond.light * (1 + cond.gradient * ramp))[:, :, None]
    if cond.glare > 0:
        gx, gy = rng.uniform(0.2, 0.8) * fw, rng.uniform(0.2, 0.8) * fh
        radius = rng.uniform(0.06, 0.15) * fw
        spot = np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * radius**2))
        image += (255 * cond.glare * spot)[:, :, None]
    if cond.blur_sigma > 0:
        image = cv2.GaussianBlur(image, (0, 0), cond.blur_sigma)
    if cond.motion_px > 1:
        kernel = np.zeros((cond.motion_px, cond.motion_px), np.float32)
        kernel[cond.motion_px // 2, :] = 1.0 / cond.motion_px
        image = cv2.filter2D(image, -1, kernel)
    if cond.noise_sigma > 0:
        noise = np.asarray(rng.normal(0, cond.noise_sigma, image.shape), dtype=np.float32)
        image = image + noise
    out = np.clip(image, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, cond.jpeg_quality])
    assert ok
    return np.ascontiguousarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR))
