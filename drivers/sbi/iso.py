"""ISO/IEC 19794-4 (finger) and 19794-5 (face) records as SBI carries them in ``bioValue``.

Readers accept 19794-4:2005 (``FIR\\0010\\0``) and :2011 (``FIR\\0020\\0``) and
19794-5:2011 (``FAC\\0030\\0``); other face versions are read by locating the
embedded JPEG / JPEG 2000 / PNG stream. A ``bioValue`` that is a bare image
(some services send one) is decoded as is. Image codings: uncompressed 8-bit,
WSQ (via the ``wsq`` Pillow plugin), JPEG, JPEG 2000 and PNG (via OpenCV).

Writers produce the 2011 versions; the SBI simulator uses them, with JPEG 2000
lossless as MOSIP's biometric specification asks for registration devices.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from dataclasses import dataclass

import cv2
import numpy as np

from drivers.image_header import (
    FACE_MAX_PIXELS,
    FINGER_MAX_PIXELS,
    ImageHeaderError,
    check_decoded,
    check_image_bytes,
)
from drivers.interfaces import ImageU8
from drivers.sbi.errors import SbiProtocolError

FINGER_MAGIC = b"FIR\x00"
FACE_MAGIC = b"FAC\x00"
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_J2K_CODESTREAM = b"\xff\x4f\xff\x51"
_JPEG_SOI = b"\xff\xd8\xff"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# 19794-4 compression codes, per version.
_FINGER_CODEC_2005 = {0: "raw", 1: "packed", 2: "wsq", 3: "jpeg", 4: "jp2", 5: "png"}
_FINGER_CODEC_2011 = {0: "raw", 1: "packed", 2: "wsq", 3: "jpeg", 4: "jp2", 5: "jp2", 6: "png"}
FINGER_JP2_LOSSLESS = 5
FACE_JP2_LOSSLESS = 2
FACE_JPEG = 0


@dataclass(frozen=True, eq=False)
class FingerImage:
    position: int  # ISO/ANSI finger position code (FGP)
    pixels: ImageU8  # grayscale
    ppi: int
    quality: int | None


def _ppi(scale_units: int, resolution: int) -> int:
    return round(resolution * 2.54) if scale_units == 2 else resolution  # 2 = pixels per cm


def _decode(data: bytes, codec: str, width: int, height: int, *, color: bool) -> ImageU8:
    """Decode one image of a record; its own header is checked against the limit first."""
    limit = FACE_MAX_PIXELS if color else FINGER_MAX_PIXELS
    if codec == "raw":
        channels = 3 if color else 1
        if not 0 < width * height <= limit:
            raise SbiProtocolError(f"uncompressed image {width}x{height} is outside the limit")
        if len(data) < width * height * channels:
            raise SbiProtocolError("uncompressed image data is short")
        shape = (height, width, 3) if color else (height, width)
        return np.frombuffer(data[: width * height * channels], np.uint8).reshape(shape).copy()
    if codec not in ("wsq", "jpeg", "jp2", "png", "auto"):
        raise SbiProtocolError(f"unsupported image coding {codec}")
    try:
        header = check_image_bytes(data, max_pixels=limit)
        return check_decoded(_decode_checked(data, codec, color), header)
    except ImageHeaderError as exc:
        raise SbiProtocolError(f"{codec} image refused: {exc}") from None


def _decode_checked(data: bytes, codec: str, color: bool) -> ImageU8:
    if codec == "wsq":
        import wsq  # noqa: F401 - registers the WSQ codec with Pillow
        from PIL import Image

        try:
            return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.uint8)
        except OSError as exc:
            raise SbiProtocolError(f"WSQ image does not decode: {exc}") from None
    flags = cv2.IMREAD_COLOR if color else cv2.IMREAD_GRAYSCALE
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise SbiProtocolError(f"{codec} image does not decode")
    return np.asarray(image, dtype=np.uint8)


def _check_size(image: ImageU8, width: int, height: int) -> ImageU8:
    if width and height and image.shape[:2] != (height, width):
        raise SbiProtocolError(
            f"image is {image.shape[1]}x{image.shape[0]}, record says {width}x{height}"
        )
    return image


def read_finger_record(data: bytes) -> list[FingerImage]:
    """All finger images of an ISO/IEC 19794-4 record (2005 or 2011)."""
    try:
        if data[:8] == FINGER_MAGIC + b"020\x00":
            return _read_finger_2011(data)
        if data[:8] == FINGER_MAGIC + b"010\x00":
            return _read_finger_2005(data)
    except struct.error:
        raise SbiProtocolError("ISO 19794-4 record is truncated") from None
    raise SbiProtocolError("not an ISO 19794-4 (2005 or 2011) finger record")


def _read_finger_2011(data: bytes) -> list[FingerImage]:
    length, count, certified, _positions = struct.unpack_from(">IHBB", data, 8)
    if length != len(data):
        raise SbiProtocolError("ISO 19794-4 record length does not match")
    offset, images = 16, []
    for _ in range(count):
        (rep_length,) = struct.unpack_from(">I", data, offset)
        pos = offset + 4 + 9 + 5  # length, capture date-time, technology, vendor, type
        (quality_blocks,) = struct.unpack_from(">B", data, pos)
        quality = data[pos + 1] if quality_blocks else None
        pos += 1 + 5 * quality_blocks
        if certified:
            pos += 1 + 3 * data[pos]
        fgp, _number, scale = struct.unpack_from(">BBB", data, pos)
        _sh, _sv, res_h, _rv = struct.unpack_from(">HHHH", data, pos + 3)
        depth, compression, _impression = struct.unpack_from(">BBB", data, pos + 11)
        width, height, size = struct.unpack_from(">HHI", data, pos + 14)
        start = pos + 22
        if depth != 8 or start + size > offset + rep_length:
            raise SbiProtocolError("unsupported bit depth or image overruns its representation")
        codec = _FINGER_CODEC_2011.get(compression, "unknown")
        pixels = _decode(data[start : start + size], codec, width, height, color=False)
        images.append(
            FingerImage(fgp, _check_size(pixels, width, height), _ppi(scale, res_h), quality)
        )
        offset += rep_length
    return images


def _read_finger_2005(data: bytes) -> list[FingerImage]:
    length = int.from_bytes(data[8:14], "big")
    if length != len(data):
        raise SbiProtocolError("ISO 19794-4 record length does not match")
    count, scale = data[18], data[19]
    _sh, _sv, res_h, _rv, depth, compression = struct.unpack_from(">HHHHBB", data, 20)
    if depth != 8:
        raise SbiProtocolError("unsupported bit depth")
    codec = _FINGER_CODEC_2005.get(compression, "unknown")
    offset, images = 32, []
    for _ in range(count):
        rec_length, fgp, _views, _view, quality, _imp, width, height = struct.unpack_from(
            ">IBBBBBHH", data, offset
        )
        pixels = _decode(data[offset + 14 : offset + rec_length], codec, width, height, color=False)
        images.append(
            FingerImage(fgp, _check_size(pixels, width, height), _ppi(scale, res_h), quality)
        )
        offset += rec_length
    return images


def _embedded_image(data: bytes) -> bytes:
    starts = [
        i
        for sig in (_JP2_SIGNATURE, _J2K_CODESTREAM, _JPEG_SOI, _PNG_SIGNATURE)
        if (i := data.find(sig)) >= 0
    ]
    if not starts:
        raise SbiProtocolError("face record holds no JPEG, JPEG 2000 or PNG image")
    return data[min(starts) :]


def read_face_record(data: bytes) -> ImageU8:
    """The first face image (BGR) of an ISO/IEC 19794-5 record."""
    if data[:8] != FACE_MAGIC + b"030\x00":
        return _decode(_embedded_image(data), "auto", 0, 0, color=True)
    try:
        length, count = struct.unpack_from(">IH", data, 8)
        if length != len(data) or count < 1:
            raise SbiProtocolError("ISO 19794-5 record length or count is wrong")
        offset = 17
        (rep_length,) = struct.unpack_from(">I", data, offset)
        pos = offset + 4 + 9 + 5
        pos += 1 + 5 * data[pos]  # quality blocks
        (landmarks,) = struct.unpack_from(">H", data, pos)
        pos += 17 + 8 * landmarks
        kind, data_type, width, height = struct.unpack_from(">BBHH", data, pos)
        image = data[pos + 11 : offset + rep_length]
    except struct.error:
        raise SbiProtocolError("ISO 19794-5 record is truncated") from None
    if kind & 0x80:  # 3-D face image types; SBI registration devices send 2-D only
        raise SbiProtocolError("3-D face records are not supported")
    codec = {0: "jpeg", 1: "jp2", 2: "jp2", 3: "png"}.get(data_type, "unknown")
    return _check_size(_decode(image, codec, width, height, color=True), width, height)


def decode_bio_value(data: bytes, *, face: bool) -> list[FingerImage] | ImageU8:
    """An SBI ``bioValue`` (already base64url-decoded): ISO record or bare image."""
    if face:
        return read_face_record(data)
    if data[:4] == FINGER_MAGIC:
        return read_finger_record(data)
    pixels = _decode(_embedded_image(data), "auto", 0, 0, color=False)
    return [FingerImage(0, pixels, 500, None)]


# ------------------------------------------------------------------------- writers


def _datetime(when: dt.datetime) -> bytes:
    u = when.astimezone(dt.UTC)
    return struct.pack(
        ">HBBBBBH", u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond // 1000
    )


def write_finger_record(
    fingers: list[tuple[int, ImageU8, int]], when: dt.datetime, ppi: int = 500
) -> bytes:
    """ISO/IEC 19794-4:2011 record, JPEG 2000 lossless; ``fingers`` = (FGP, pixels, quality)."""
    reps = []
    for number, (fgp, pixels, quality) in enumerate(fingers, start=1):
        ok, encoded = cv2.imencode(".jp2", pixels, [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 1000])
        if not ok:
            raise SbiProtocolError("JPEG 2000 encoding failed")
        image = encoded.tobytes()
        height, width = pixels.shape
        body = (
            _datetime(when)
            + struct.pack(">BHHB", 0, 0, 0, 1)
            + struct.pack(">BHH", quality, 0x000F, 0x377D)  # NIST NFIQ 2 (IBIA ids)
            + struct.pack(">BBB", fgp, number, 1)
            + struct.pack(">HHHH", ppi, ppi, ppi, ppi)
            + struct.pack(">BBB", 8, FINGER_JP2_LOSSLESS, 0)
            + struct.pack(">HHI", width, height, len(image))
            + image
        )
        reps.append(struct.pack(">I", 4 + len(body)) + body)
    payload = b"".join(reps)
    positions = len({fgp for fgp, _, _ in fingers})
    header = (
        FINGER_MAGIC + b"020\x00" + struct.pack(">IHBB", 16 + len(payload), len(reps), 0, positions)
    )
    return header + payload


def write_face_record(image_bgr: ImageU8, when: dt.datetime, *, lossless: bool = False) -> bytes:
    """ISO/IEC 19794-5:2011 record with one basic frontal image (JPEG or JPEG 2000)."""
    if lossless:
        ok, encoded = cv2.imencode(
            ".jp2", image_bgr, [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 1000]
        )
    else:
        ok, encoded = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise SbiProtocolError("face image encoding failed")
    data = encoded.tobytes()
    height, width = image_bgr.shape[:2]
    body = (
        _datetime(when)
        + struct.pack(">BHHB", 0, 0, 0, 0)  # technology, vendor, type; no quality block
        + struct.pack(">HBBBB", 0, 0, 0, 0, 0)  # landmarks, gender, eyes, hair, height
        + (0).to_bytes(3, "big")  # property mask
        + struct.pack(">H", 0)  # expression
        + bytes(6)  # pose angle and its uncertainty: unspecified
        + struct.pack(">BBHH", 1, FACE_JP2_LOSSLESS if lossless else FACE_JPEG, width, height)
        + struct.pack(">BHBB", 0, 0, 0, 1)  # sampling rate, processing, cross-ref, colour space
        + data
    )
    rep = struct.pack(">I", 4 + len(body)) + body
    header = FACE_MAGIC + b"030\x00" + struct.pack(">IHBH", 17 + len(rep), 1, 0, 0)
    return header + rep
