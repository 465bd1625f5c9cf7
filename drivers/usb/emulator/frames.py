"""What the emulated U.are.U sensor sends on its image endpoint.

The device side of the frame format described in
:mod:`drivers.usb.uru4000_protocol`, written independently of the host-side
decoder (its own LFSR, header packing and block walk) so that a bug in the
driver's decoder cannot hide behind the same bug here.

A frame is a 64-byte header and up to 289 lines of 384 pixels, inverted
(ridges bright). The sensor splits the 290-line image into blocks: encrypted
blocks, plain blocks that still advance the scramble state, plain blocks that
do not, and a one-line "not present" block that the host fills with the next
line. The first lines lie under the platen edge and read as background, which
is what lets the host tell an encrypted frame (noise) from a plain one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

from drivers.interfaces import FingerPosition, ImageU8
from drivers.sim.fingerprint_synth import FingerDefects, synthesize_finger

WIDTH = 384
HEIGHT = 290
HEADER = 64
MAX_LINES = HEIGHT - 1  # the header's line count must stay below 290
BORDER_LINES = 4

CHANGE_KEY = 0x80
NO_KEY_UPDATE = 0x04
ENCRYPTED = 0x02
NOT_PRESENT = 0x01

_TAPS = 0x9248144D
_STREAM_BITS = (4, 8, 11, 14, 18, 21, 24, 29)


def _next_state(state: int) -> int:
    """The sensor's scramble LFSR: feedback = parity of the tapped bits, shifted in at bit 31."""
    fold = state & _TAPS
    fold ^= fold >> 16
    fold ^= fold >> 8
    fold ^= fold >> 4
    fold ^= fold >> 2
    fold ^= fold >> 1
    return ((fold & 1) << 31) | (state >> 1)


def _stream_byte(state: int) -> int:
    out = 0
    for position, bit in enumerate(_STREAM_BITS):
        out |= ((state >> bit) & 1) << position
    return out


def scramble(plain: bytes, state: int, lead: int) -> tuple[bytes, int]:
    """Encrypt one block: byte 0 is ``lead`` (junk), byte i+1 carries plain[i]; last is lost."""
    out = bytearray(len(plain))
    if not plain:
        return b"", state
    out[0] = lead & 0xFF
    for i in range(len(plain) - 1):
        out[i + 1] = plain[i] ^ _stream_byte(state)
        state = _next_state(state)
    return bytes(out), _next_state(state)


def skip(state: int, count: int) -> int:
    for _ in range(count):
        state = _next_state(state)
    return state


def sensor_view(
    subject_seed: int,
    position: FingerPosition,
    impression: int,
    defects: FingerDefects,
    *,
    rotated_180: bool,
) -> tuple[ImageU8, ImageU8]:
    """(what the host should see: 290 x 384 gray at 512 ppi, the sensor's raw lines)."""
    print500 = synthesize_finger(subject_seed, position, impression, defects, size=(375, 283))
    gray = cv2.resize(print500, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)
    gray = np.ascontiguousarray(gray, dtype=np.uint8)
    inverted = 255 - gray
    raw: ImageU8 = np.ascontiguousarray(
        inverted[::-1, ::-1] if rotated_180 else inverted, dtype=np.uint8
    )
    rng = np.random.default_rng([subject_seed, int(position), impression, 99])
    level = int(np.percentile(raw, 5))
    noise = rng.integers(-2, 3, size=(BORDER_LINES, WIDTH))
    raw[:BORDER_LINES] = np.clip(level + noise, 0, 255).astype(np.uint8)
    host = 255 - (raw[::-1, ::-1] if rotated_180 else raw)
    return np.ascontiguousarray(host, dtype=np.uint8), raw


@dataclass(frozen=True)
class Layout:
    blocks: tuple[tuple[int, int], ...]  # (flags, lines)


def layout(rng: np.random.Generator, *, encrypted: bool) -> Layout:
    """A plausible block layout: 289 present lines and one "not present" line."""
    if not encrypted:
        first = int(rng.integers(60, 200))
        return Layout(((0, first), (NOT_PRESENT, 1), (0, MAX_LINES - first)))
    a, b, c = int(rng.integers(30, 70)), int(rng.integers(40, 90)), int(rng.integers(10, 30))
    d, e = int(rng.integers(40, 80)), int(rng.integers(5, 15))
    rest = MAX_LINES - (a + b + c + d + e)
    return Layout(
        (
            (ENCRYPTED, a),
            (ENCRYPTED | CHANGE_KEY, b),
            (0, c),  # plain, but the scramble state still advances
            (NOT_PRESENT | NO_KEY_UPDATE, 1),
            (ENCRYPTED, d),
            (NO_KEY_UPDATE, e),  # plain, state held
            (ENCRYPTED, rest),
        )
    )


def encode(
    raw: ImageU8,
    shape: Layout,
    *,
    key_number: int,
    key_for: dict[int, int],
    rng: np.random.Generator,
) -> bytes:
    """Header + lines as the sensor sends them; ``key_for`` maps key numbers to LFSR states."""
    lines: list[bytes] = []
    row = 0
    for flags, count in shape.blocks:
        if not flags & NOT_PRESENT:
            lines.extend(raw[r].tobytes() for r in range(row, row + count))
        row += count
    data = bytearray(b"".join(lines))
    number = key_number
    state = key_for[number]
    offset = 0
    for flags, count in shape.blocks:
        if flags & CHANGE_KEY:
            number = (number + 1) & 0xFF
            state = key_for[number]
        mode = flags & (NO_KEY_UPDATE | ENCRYPTED)
        if flags & NOT_PRESENT:
            # No lines of its own; a plain one still advances the scramble state.
            if mode == ENCRYPTED:
                raise ValueError("the sensor never encrypts a not-present block")
            if mode == 0:
                state = skip(state, count * WIDTH)
            continue
        end = offset + count * WIDTH
        if mode == ENCRYPTED:
            cipher, state = scramble(bytes(data[offset:end]), state, int(rng.integers(0, 256)))
            data[offset:end] = cipher
        elif mode == 0:
            state = skip(state, count * WIDTH)
        offset = end
    header = bytearray(HEADER)
    struct.pack_into("<H", header, 4, len(lines))
    header[6] = key_number & 0xFF
    for i, (flags, count) in enumerate(shape.blocks):
        header[16 + 2 * i] = flags
        header[17 + 2 * i] = count
    return bytes(header) + bytes(data)


def garbage(rng: np.random.Generator) -> bytes:
    """Line noise of random length whose header claims an impossible line count."""
    length = int(rng.integers(HEADER, HEADER + MAX_LINES * WIDTH))
    data = bytearray(rng.integers(0, 256, size=length, dtype=np.uint8).tobytes())
    struct.pack_into("<H", data, 4, int(rng.integers(HEIGHT, 0xFFFF)))
    return bytes(data)
