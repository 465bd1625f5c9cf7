"""Render the receipt page as a grey image for a thermal printer.

Text goes through Pillow with libraqm (HarfBuzz shaping and FriBiDi), so
Devanagari, Bengali, Arabic and Urdu come out joined and in the right order;
right-to-left blocks are right-aligned. Fonts are Debian's Noto fonts
(``fonts-noto-core``, which the kiosk's Chromium needs anyway); a missing font
falls back to DejaVu Sans, then to Pillow's built-in font.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from drivers.interfaces import ImageU8

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/truetype/dejavu"))
FONT_BY_LANGUAGE = {
    "hi": "NotoSansDevanagari-Regular.ttf",
    "ne": "NotoSansDevanagari-Regular.ttf",
    "bn": "NotoSansBengali-Regular.ttf",
    "ar": "NotoSansArabic-Regular.ttf",
    "ur": "NotoNastaliqUrdu-Regular.ttf",
}
LATIN = "NotoSans-Regular.ttf"
FALLBACK = "DejaVuSans.ttf"
MARGIN = 12
LINE_GAP = 6
MAX_LINES = 120


@dataclass(frozen=True)
class Block:
    """One language's part of the receipt: a heading and its lines."""

    language: str
    rtl: bool
    heading: str
    lines: tuple[str, ...]


@functools.cache
def _font(name: str, size: int) -> Font:
    layout = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    for candidate in (name, LATIN, FALLBACK):
        for directory in FONT_DIRS:
            path = directory / candidate
            if path.exists():
                return ImageFont.truetype(str(path), size, layout_engine=layout)
    return ImageFont.load_default(size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split():
            candidate = f"{current} {word}".strip()
            if current and draw.textlength(candidate, font=font) > width:
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
    return lines


def render_page(blocks: list[Block], width: int, size: int = 24) -> ImageU8:
    """The page: each block's heading (larger) and wrapped lines, blocks separated by a rule."""
    scratch = ImageDraw.Draw(Image.new("L", (width, 10), 255))
    text_width = width - 2 * MARGIN
    laid: list[tuple[Block, Font, Font, list[tuple[str, bool]]]] = []
    height = MARGIN
    for block in blocks:
        name = FONT_BY_LANGUAGE.get(block.language.split("-")[0], LATIN)
        body, head = _font(name, size), _font(name, size + 8)
        rows = [(line, True) for line in _wrap(scratch, block.heading, head, text_width)]
        for text in block.lines:
            rows.extend((line, False) for line in _wrap(scratch, text, body, text_width))
        rows = rows[:MAX_LINES]
        laid.append((block, body, head, rows))
        height += sum((size + 8 if bold else size) + LINE_GAP for _, bold in rows) + 3 * MARGIN
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    y = MARGIN
    for index, (block, body, head, rows) in enumerate(laid):
        if index:
            draw.line((MARGIN, y, width - MARGIN, y), fill=0, width=2)
            y += 2 * MARGIN
        for text, is_heading in rows:
            font = head if is_heading else body
            direction = "rtl" if block.rtl and features.check("raqm") else None
            length = draw.textlength(text, font=font, direction=direction)
            x = width - MARGIN - length if block.rtl else MARGIN
            draw.text((x, y), text, fill=0, font=font, direction=direction)
            y += (size + 8 if is_heading else size) + LINE_GAP
        y += MARGIN
    return np.asarray(page, dtype=np.uint8)
