"""Captures as the review screen shows them: browsers do not show JPEG 2000.

The ISO/IEC 19794-5 token image is sealed as JPEG 2000; for the local screen
it is transcoded to JPEG in memory (never written), everything else is served
as it was captured.
"""

from __future__ import annotations

import asyncio

import cv2
import numpy as np

from appliance.capture.captures import Capture
from drivers.image_header import FACE_MAX_PIXELS, ImageHeaderError, check_image_bytes


async def browser_image(capture: Capture) -> tuple[bytes, str]:
    if capture.media_type != "image/jp2":
        return bytes(capture.data), capture.media_type
    return await asyncio.to_thread(_jp2_as_jpeg, bytes(capture.data)), "image/jpeg"


def _jp2_as_jpeg(data: bytes) -> bytes:
    try:
        check_image_bytes(data, max_pixels=FACE_MAX_PIXELS)
    except ImageHeaderError:
        return b""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return b""
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return bytes(buffer) if ok else b""
