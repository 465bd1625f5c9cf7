"""Reading portrait files into BGR arrays, with one clear error for bad input."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from drivers.interfaces import ImageU8

MAX_PIXELS = 40_000_000  # refuse absurd images before decoding them fully


class ImageReadError(ValueError):
    """The file is missing, unreadable or not an image."""


def read_image(path: Path) -> ImageU8:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError("no such file") from None
    except IsADirectoryError:
        raise ImageReadError("is a directory") from None
    except OSError as exc:
        raise ImageReadError(f"unreadable: {exc.strerror or exc}") from None
    return decode_image(data)


def decode_image(data: bytes) -> ImageU8:
    if not data:
        raise ImageReadError("empty file")
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ImageReadError("not a decodable image (JPEG, PNG, JPEG 2000, BMP, TIFF)")
    if image.shape[0] * image.shape[1] > MAX_PIXELS:
        raise ImageReadError("image too large")
    result: ImageU8 = np.ascontiguousarray(image)
    return result
