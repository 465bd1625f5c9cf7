"""Turn one U.are.U image frame into a grayscale image (decrypt, lay out, resample).

The frame format and cipher are documented in :mod:`drivers.usb.uru4000_protocol`.
Decryption needs the device: every key number in the frame is exchanged
through the scramble registers, so :func:`decode_frame` takes the link's
``scramble_key`` coroutine. CPU work (the LFSR, resampling) runs in threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import numpy as np

from drivers.interfaces import ImageU8
from drivers.usb import uru4000_protocol as proto

ScrambleKey = Callable[[int], Awaitable[int]]


async def decode_frame(
    header: proto.FrameHeader, frame: bytes, *, rotated_180: bool, scramble_key: ScrambleKey
) -> ImageU8:
    """Decrypt the frame if the sensor scrambled it, then lay out the 290 x 384 image."""
    width = proto.IMAGE_WIDTH
    data = bytearray(proto.IMAGE_HEIGHT * width)
    body = frame[proto.HEADER_LENGTH : proto.HEADER_LENGTH + len(data)]
    data[: len(body)] = body
    if proto.looks_encrypted(bytes(data), header.num_lines):
        key_number = header.key_number
        key = await scramble_key(key_number)
        row = 0
        for flags, count in header.blocks:
            if row >= header.num_lines:
                break
            if flags & proto.BLOCK_CHANGE_KEY:
                key_number = (key_number + 1) & 0xFF
                key = await scramble_key(key_number)
            start = row * width
            end = min(start + count * width, len(data))
            mode = flags & (proto.BLOCK_NO_KEY_UPDATE | proto.BLOCK_ENCRYPTED)
            if mode == proto.BLOCK_ENCRYPTED:
                plain, key = await asyncio.to_thread(
                    proto.decrypt_block, bytes(data[start:end]), key
                )
                data[start:end] = plain
            elif mode == 0:
                key = await asyncio.to_thread(proto.advance, key, count * width)
            if not flags & proto.BLOCK_NOT_PRESENT:
                row += count
    return proto.assemble_image(header, bytes(data), rotated_180=rotated_180)


def resample(image: ImageU8, output_ppi: int) -> ImageU8:
    """Scale the native 512 ppi image to ``output_ppi`` (area interpolation)."""
    if output_ppi == proto.NATIVE_PPI:
        return image
    import cv2

    scale = output_ppi / proto.NATIVE_PPI
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(resized, dtype=np.uint8)
