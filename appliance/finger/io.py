"""Read fingerprint images from files: PNG, BMP, TIFF, JPEG (OpenCV) and WSQ (wsq plugin)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from appliance.finger.quality import FingerImageError, ImageU8
from drivers.image_header import (
    FINGER_MAX_PIXELS,
    ImageHeaderError,
    check_decoded,
    check_image_bytes,
)

WSQ_MAGIC = b"\xff\xa0"
MAX_FILE_BYTES = 64 << 20


def read_gray(path: Path) -> ImageU8:
    """Load ``path`` as 8-bit grayscale; raise :class:`FingerImageError` with the reason."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise FingerImageError(f"file is larger than {MAX_FILE_BYTES >> 20} MiB")
        data = path.read_bytes()
    except FileNotFoundError:
        raise FingerImageError("file not found") from None
    except IsADirectoryError:
        raise FingerImageError("is a directory, not an image") from None
    except OSError as exc:
        raise FingerImageError(f"cannot read: {exc.strerror}") from None
    if not data:
        raise FingerImageError("empty file")
    try:
        header = check_image_bytes(data, max_pixels=FINGER_MAX_PIXELS)
        return check_decoded(_decode(data), header)
    except ImageHeaderError as exc:
        raise FingerImageError(str(exc)) from None


def _decode(data: bytes) -> ImageU8:
    if data.startswith(WSQ_MAGIC):
        import io

        import wsq  # noqa: F401 - registers the WSQ plugin with Pillow
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as wsq_image:
                return np.asarray(wsq_image.convert("L"), dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise FingerImageError(f"corrupt WSQ file: {exc}") from None
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if decoded is None:
        raise FingerImageError("not a readable image (PNG, BMP, TIFF, JPEG or WSQ expected)")
    return np.asarray(decoded, dtype=np.uint8)
