"""Decode DG2 (ICAO 9303-10 §4.7.2): the facial image of the holder.

DG2 is a biometric information template group (7F61) of templates (7F60),
each with a header (A1) and a biometric data block (5F2E, or 7F2E). The block
is an ISO/IEC 19794-5:2005 facial record ("FAC\\0") or, on newer documents,
an ISO/IEC 39794-5 DER record, in which the image is found by walking the DER
for the octet string that holds a JPEG or JPEG 2000 stream. Every size is
checked before use, the image's declared dimensions before it is decoded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from drivers.emrtd.tlv import TlvError, find, iter_tlv, read_header, unwrap

MAX_DG2_BYTES = 256 * 1024
MAX_SIDE = 4096
MAX_DEPTH = 12
_JPEG = b"\xff\xd8\xff"
_JP2 = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_J2K = b"\xff\x4f\xff\x51"


class Dg2Error(ValueError):
    """DG2 is malformed, too large, or its image cannot be decoded."""


@dataclass(frozen=True, eq=False)
class FacePortrait:
    """The chip's portrait: the encoded bytes as stored, and the decoded BGR image."""

    encoded: bytes
    format: str  # "jpeg" | "jpeg2000"
    record: str  # "ISO/IEC 19794-5" | "ISO/IEC 39794-5"
    image: npt.NDArray[np.uint8]


def _bdb(dg2: bytes) -> bytes:
    group = find(unwrap(dg2, 0x75), 0x7F61)
    for tag, value in iter_tlv(group):
        if tag == 0x7F60:
            for inner_tag, inner in iter_tlv(value):
                if inner_tag in (0x5F2E, 0x7F2E):
                    return inner
    raise Dg2Error("DG2 holds no biometric data block")


def _image_of_19794(record: bytes) -> bytes:
    if len(record) < 14 + 20 + 12 or record[4:8] != b"010\x00":
        raise Dg2Error("not an ISO/IEC 19794-5:2005 record")
    declared = int.from_bytes(record[8:12], "big")
    faces = int.from_bytes(record[12:14], "big")
    if declared != len(record) or faces < 1:
        raise Dg2Error("19794-5 record length or face count is wrong")
    block_len = int.from_bytes(record[14:18], "big")
    points = int.from_bytes(record[18:20], "big")
    start = 14 + 20 + 8 * points + 12
    end = 14 + block_len
    if block_len < 32 or end > len(record) or start >= end:
        raise Dg2Error("19794-5 facial record block overruns the record")
    return record[start:end]


def _image_of_39794(record: bytes, depth: int = 0) -> bytes:
    if depth > MAX_DEPTH:
        raise Dg2Error("39794-5 record nested too deeply")
    try:
        for tag, value in iter_tlv(record):
            if value.startswith((_JPEG, _JP2, _J2K)):
                return value
            constructed = (tag >> (8 * ((tag.bit_length() - 1) // 8))) & 0x20
            if constructed and value:
                try:
                    return _image_of_39794(value, depth + 1)
                except Dg2Error:
                    continue
    except TlvError as exc:
        raise Dg2Error(f"39794-5 record: {exc}") from exc
    raise Dg2Error("no JPEG or JPEG 2000 image in the 39794-5 record")


def decode_image(encoded: bytes) -> tuple[npt.NDArray[np.uint8], str]:
    """Decode a JPEG / JPEG 2000 after checking its declared size."""
    if encoded.startswith(_JPEG):
        kind = "jpeg"
    elif encoded.startswith((_JP2, _J2K)):
        kind = "jpeg2000"
    else:
        raise Dg2Error("the portrait is neither JPEG nor JPEG 2000")
    try:
        with Image.open(io.BytesIO(encoded)) as probe:  # reads the header only
            width, height = probe.size
    except Exception as exc:
        raise Dg2Error(f"unreadable {kind} header: {exc}") from exc
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise Dg2Error(f"portrait of {width}x{height} exceeds {MAX_SIDE} pixels a side")
    image = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise Dg2Error(f"the {kind} portrait does not decode")
    return image.astype(np.uint8), kind


def decode_dg2(dg2: bytes) -> FacePortrait:
    """The first portrait in DG2."""
    if len(dg2) > MAX_DG2_BYTES:
        raise Dg2Error(f"DG2 of {len(dg2)} bytes exceeds {MAX_DG2_BYTES}")
    try:
        read_header(dg2)
        block = _bdb(dg2)
    except TlvError as exc:
        raise Dg2Error(f"DG2 structure: {exc}") from exc
    if block.startswith(b"FAC\x00"):
        encoded, record = _image_of_19794(block), "ISO/IEC 19794-5"
    else:
        encoded, record = _image_of_39794(block), "ISO/IEC 39794-5"
    image, kind = decode_image(encoded)
    return FacePortrait(encoded, kind, record, image)
