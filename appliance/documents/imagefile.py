"""Read a document photo safely: dimensions from the header before decoding.

A decompression bomb (a small file that decodes to gigapixels) is refused
after reading its header only; so are files over :data:`MAX_FILE_BYTES`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np

from drivers.interfaces import ImageU8

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50-megapixel camera is the largest we expect
MAX_SIDE = 20_000


class ImageFileError(ValueError):
    """Missing, unreadable, not an image, or too large."""


def header_size(data: bytes) -> tuple[int, int]:
    """Width and height from the image header, without decoding the pixels."""
    from io import BytesIO

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Image.MAX_IMAGE_PIXELS = None  # we apply our own limit, below
            with Image.open(BytesIO(data)) as probe:
                width, height = probe.size
    except Exception as exc:
        raise ImageFileError("not a decodable image (JPEG, PNG, TIFF, BMP, WebP)") from exc
    return int(width), int(height)


def read_document_image(path: Path) -> ImageU8:
    if path.is_dir():
        raise ImageFileError("is a directory")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImageFileError(f"file larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageFileError("no such file") from None
    except OSError as exc:
        raise ImageFileError(f"unreadable: {exc.strerror or exc}") from None
    if not data:
        raise ImageFileError("empty file")
    width, height = header_size(data)
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise ImageFileError(f"image too large: {width}x{height} pixels (limit {MAX_PIXELS})")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise ImageFileError("not a decodable image (JPEG, PNG, TIFF, BMP, WebP)")
    result: ImageU8 = np.ascontiguousarray(image)
    return result
