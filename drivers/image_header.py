"""Image dimensions read from the file header, before any decoder sees the bytes.

Every reader of image bytes from outside (files given to the CLIs, SBI
``bioValue`` records, uploads) calls :func:`check_image_bytes` first: it
recognises the format by its signature, reads width, height and channels from
the header alone (a few hundred bytes at most, no decoding), and refuses the
image when it exceeds the reader's pixel limit. Unknown formats are refused
too, so no other decoder OpenCV or Pillow might pick can be reached.

After decoding, :func:`check_decoded` confirms that the decoder produced what
the header promised; :func:`check_frame` bounds arrays handed over by drivers.

Pixel limits (documented in docs/packet-format.md's companion, the README):

==================  =============  ===========================================
reader              limit          why
==================  =============  ===========================================
portrait photos     25 MP          a 6000 x 4000 camera; 75 MB once decoded BGR
finger / slap       16 MP          4000 x 4000 at 1000 ppi; 16 MB gray
device frames       12 MP          live camera / scanner frames
any side            20 000 px      no legitimate capture is wider or taller
==================  =============  ===========================================
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

FACE_MAX_PIXELS = 25_000_000
FINGER_MAX_PIXELS = 16_000_000
FRAME_MAX_PIXELS = 12_000_000
MAX_SIDE = 20_000
_MAX_SEGMENTS = 512  # JPEG/WSQ markers or JP2/TIFF boxes/entries inspected at most

PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff"
JP2 = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
J2K = b"\xff\x4f\xff\x51"
WSQ = b"\xff\xa0"
BMP = b"BM"
TIFF_LE = b"II*\x00"
TIFF_BE = b"MM\x00*"


class ImageHeaderError(ValueError):
    """The bytes are not a supported image, the header is unreadable, or it is too large."""


@dataclass(frozen=True)
class ImageHeader:
    format: str  # png, jpeg, jp2, j2k, wsq, bmp, tiff
    width: int
    height: int
    channels: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def check_image_bytes(data: bytes, *, max_pixels: int, max_side: int = MAX_SIDE) -> ImageHeader:
    """Read the header of ``data`` and refuse it when it is larger than allowed."""
    header = read_image_header(data)
    if header.width <= 0 or header.height <= 0:
        raise ImageHeaderError(f"{header.format} header gives no image size")
    if max(header.width, header.height) > max_side or header.pixels > max_pixels:
        raise ImageHeaderError(
            f"image is {header.width}x{header.height} pixels; this reader accepts at most "
            f"{max_pixels:,} pixels and {max_side} per side"
        )
    return header


def read_image_header(data: bytes) -> ImageHeader:
    """Format and size from the signature and header of ``data`` (no decoding)."""
    try:
        if data.startswith(PNG):
            return _png(data)
        if data.startswith(JPEG):
            return _jpeg(data)
        if data.startswith(JP2):
            return _jp2(data)
        if data.startswith(J2K):
            return _siz(data, 0, "j2k")
        if data.startswith(WSQ):
            return _wsq(data)
        if data.startswith(BMP):
            return _bmp(data)
        if data.startswith((TIFF_LE, TIFF_BE)):
            return _tiff(data)
    except (struct.error, IndexError):
        raise ImageHeaderError("image header is truncated") from None
    raise ImageHeaderError("not a supported image (PNG, JPEG, JPEG 2000, WSQ, BMP or TIFF)")


_Array = TypeVar("_Array", bound=npt.NDArray[np.generic])


def check_decoded(image: _Array, header: ImageHeader) -> _Array:
    """The decoder's result must have the size the header announced."""
    if image.shape[:2] != (header.height, header.width):
        raise ImageHeaderError(
            f"decoded image is {image.shape[1]}x{image.shape[0]}, "
            f"its header said {header.width}x{header.height}"
        )
    return image


def check_frame(
    image: npt.NDArray[np.generic], *, max_pixels: int = FRAME_MAX_PIXELS
) -> npt.NDArray[np.generic]:
    """A driver frame: 8-bit, gray (H, W) or colour (H, W, 3), within ``max_pixels``."""
    if image.dtype != np.uint8:
        raise ImageHeaderError(f"frame is {image.dtype}, not 8-bit")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3)):
        raise ImageHeaderError(f"frame has shape {image.shape}, not (H, W) or (H, W, 3)")
    height, width = image.shape[:2]
    if not height or not width or max(height, width) > MAX_SIDE or height * width > max_pixels:
        raise ImageHeaderError(f"frame is {width}x{height}, outside the allowed size")
    return image


def _png(data: bytes) -> ImageHeader:
    length, kind, width, height, depth, colour = struct.unpack_from(">I4sIIBB", data, 8)
    if kind != b"IHDR" or length != 13:
        raise ImageHeaderError("PNG does not start with its IHDR chunk")
    channels = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(colour)
    if channels is None or depth not in (1, 2, 4, 8, 16):
        raise ImageHeaderError("PNG colour type or bit depth is invalid")
    return ImageHeader("png", width, height, channels)


# JPEG SOF markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg(data: bytes) -> ImageHeader:
    offset = 2
    for _ in range(_MAX_SEGMENTS):
        while data[offset] == 0xFF and data[offset + 1] == 0xFF:
            offset += 1  # fill bytes
        if data[offset] != 0xFF:
            raise ImageHeaderError("JPEG marker expected")
        marker = data[offset + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            offset += 2  # markers without a length
            continue
        if marker in (0xD9, 0xDA):
            raise ImageHeaderError("JPEG has no frame header before its scan")
        (length,) = struct.unpack_from(">H", data, offset + 2)
        if marker in _SOF:
            _precision, height, width, components = struct.unpack_from(">BHHB", data, offset + 4)
            return ImageHeader("jpeg", width, height, components)
        if length < 2:
            raise ImageHeaderError("JPEG segment length is invalid")
        offset += 2 + length
    raise ImageHeaderError("JPEG frame header not found in the first segments")


def _siz(data: bytes, offset: int, name: str) -> ImageHeader:
    """A JPEG 2000 codestream's SIZ marker segment (ISO/IEC 15444-1, A.5.1)."""
    if data[offset : offset + 4] != J2K:
        raise ImageHeaderError(f"{name}: codestream does not start with SOC, SIZ")
    x, y, x0, y0 = struct.unpack_from(">IIII", data, offset + 8)
    (components,) = struct.unpack_from(">H", data, offset + 40)
    if x0 > x or y0 > y:
        raise ImageHeaderError(f"{name}: SIZ image offset lies outside the image")
    return ImageHeader(name, x - x0, y - y0, components)


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """JP2 boxes (ISO/IEC 15444-1, I.4) between ``start`` and ``end``: (type, body, end)."""
    found: list[tuple[bytes, int, int]] = []
    offset = start
    while offset + 8 <= end and len(found) < _MAX_SEGMENTS:
        length, kind = struct.unpack_from(">I4s", data, offset)
        body = offset + 8
        if length == 1:
            (length,) = struct.unpack_from(">Q", data, offset + 8)
            body += 8
        elif length == 0:
            length = end - offset
        if length < body - offset or offset + length > end:
            raise ImageHeaderError("JPEG 2000 box length is invalid")
        found.append((kind, body, offset + length))
        offset += length
    return found


def _jp2(data: bytes) -> ImageHeader:
    boxes = {kind: (body, end) for kind, body, end in _boxes(data, 0, len(data))}
    if b"jp2h" not in boxes or b"jp2c" not in boxes:
        raise ImageHeaderError("JP2 file lacks its header or codestream box")
    inner = {kind: body for kind, body, _ in _boxes(data, *boxes[b"jp2h"])}
    if b"ihdr" not in inner:
        raise ImageHeaderError("JP2 header box lacks ihdr")
    height, width, components = struct.unpack_from(">IIH", data, inner[b"ihdr"])
    stream = _siz(data, boxes[b"jp2c"][0], "jp2")
    if (stream.width, stream.height) != (width, height):
        raise ImageHeaderError("JP2 ihdr and codestream SIZ give different image sizes")
    return ImageHeader("jp2", width, height, components)


def _wsq(data: bytes) -> ImageHeader:
    """WSQ (FBI IAFIS-IC-0110): markers FFA0 SOI ... FFA2 SOF (A, B, Y, X, ...)."""
    offset = 2
    for _ in range(_MAX_SEGMENTS):
        marker, length = struct.unpack_from(">HH", data, offset)
        if marker == 0xFFA2:
            height, width = struct.unpack_from(">HH", data, offset + 6)
            return ImageHeader("wsq", width, height, 1)
        if marker in (0xFFA1, 0xFFA3) or marker & 0xFF00 != 0xFF00 or length < 2:
            raise ImageHeaderError("WSQ frame header not found before the image data")
        offset += 2 + length
    raise ImageHeaderError("WSQ frame header not found in the first segments")


def _bmp(data: bytes) -> ImageHeader:
    (size,) = struct.unpack_from("<I", data, 14)
    if size == 12:  # BITMAPCOREHEADER
        width, height, _planes, bits = struct.unpack_from("<HHHH", data, 18)
    elif size >= 40:
        width, height, _planes, bits = struct.unpack_from("<iiHH", data, 18)
    else:
        raise ImageHeaderError("BMP header size is invalid")
    return ImageHeader("bmp", width, abs(height), 1 if bits <= 8 else 3)


def _tiff(data: bytes) -> ImageHeader:
    """The first IFD (the page decoders read): ImageWidth, ImageLength, SamplesPerPixel."""
    order = "<" if data.startswith(TIFF_LE) else ">"
    (ifd,) = struct.unpack_from(order + "I", data, 4)
    (count,) = struct.unpack_from(order + "H", data, ifd)
    values: dict[int, int] = {}
    for index in range(min(count, _MAX_SEGMENTS)):
        tag, kind, _n = struct.unpack_from(order + "HHI", data, ifd + 2 + 12 * index)
        if tag in (256, 257, 277):
            fmt = order + ("H" if kind == 3 else "I")
            (values[tag],) = struct.unpack_from(fmt, data, ifd + 2 + 12 * index + 8)
    if 256 not in values or 257 not in values:
        raise ImageHeaderError("TIFF first page lacks its width or length")
    return ImageHeader("tiff", values[256], values[257], values.get(277, 1))
