"""Reading portrait files into BGR arrays, with one clear error for bad input."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from drivers.image_header import FACE_MAX_PIXELS, ImageHeaderError, check_decoded, check_image_bytes
from drivers.interfaces import ImageU8

MAX_PIXELS = FACE_MAX_PIXELS  # checked from the header, before decoding
MAX_FILE_BYTES = 64 << 20


class ImageReadError(ValueError):
    """The file is missing, unreadable or not an image."""


def read_image(path: Path) -> ImageU8:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageReadError(f"file is larger than {MAX_FILE_BYTES >> 20} MiB")
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
    try:
        header = check_image_bytes(data, max_pixels=MAX_PIXELS)
        if header.format == "wsq":
            raise ImageHeaderError("a WSQ fingerprint is not a portrait")
        buffer = np.frombuffer(data, dtype=np.uint8)
        image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
        if image is None or image.size == 0:
            raise ImageReadError("not a decodable image (JPEG, PNG, JPEG 2000, BMP, TIFF)")
        check_decoded(image, header)
    except ImageHeaderError as exc:
        raise ImageReadError(str(exc)) from None
    result: ImageU8 = np.ascontiguousarray(image)
    return result
