"""The DigitalPersona U.are.U 4000/4000B/4500 USB protocol, as pure functions.

Learned from the protocol description in libfprint's ``uru4000`` driver
(LGPL-2.1; Daniel Drake, Timo Teräs). This is an independent implementation:
no code was copied. What the device speaks:

Transport
    Interface class/subclass/protocol 255/255/255. Endpoint 0x81 (interrupt
    IN, 64-byte messages), endpoint 0x82 (bulk IN, image frames).
    Registers are read and written with vendor control requests, ``bRequest``
    0x04, ``wValue`` = first register, ``wIndex`` = 0, one byte per register.

Registers
    0x07 HWSTAT (bit 7 = low power), 0x33 scramble-data index (5 bytes written),
    0x34 scramble-data key (4 bytes read), 0x4e MODE, 0xf0 device info
    (16 bytes: firmware in bytes 4-5, hardware revision in bytes 10-11),
    0x2010 challenge (16 bytes read), 0x2000 response (16 bytes written).

Modes (written to 0x4e)
    0x00 init, 0x10 await finger on, 0x12 await finger off, 0x20 capture,
    0x30 capture aux, 0x70 off, 0x80 ready.

Interrupts (first two bytes, big endian)
    0x56aa scan power on, 0x0101 finger on, 0x0200 finger off, 0x0800 the
    "interrupt of death" (the next scan is likely to fail).

Power-up
    Read HWSTAT. If bits 7 and 2 are both set, write ``hwstat & 0x0f`` and poll
    until bit 0 is set (reboot). If bit 7 is clear, write ``hwstat | 0x80``
    (power down). Then write ``hwstat & 0x0f`` until bit 7 reads clear; devices
    that authenticate the host (Microsoft Fingerprint Reader v2) need the
    challenge/response between attempts. The device then sends interrupt 0x56aa.

Challenge/response
    Read 16 bytes from 0x2010, encrypt them with AES-128-ECB under a fixed,
    publicly known key, write the 16 bytes to 0x2000 (:func:`challenge_response`).

Image frame (bulk 0x82, up to 64 + 290 x 384 bytes)
    A 64-byte header: bytes 4-5 number of lines (little endian), byte 6 the
    encryption key number, bytes 16-45 fifteen (flags, lines) block
    descriptors; then 384-byte lines. Flags: 0x80 change key, 0x04 no key
    update, 0x02 encrypted, 0x01 not present (the block repeats the next
    lines and consumes none). Pixels are inverted (ridges bright); the
    4000B/4500 deliver the image rotated by 180 degrees relative to the others.

Image encryption (4000B/4500)
    Encrypted frames look like noise (:func:`looks_encrypted`, the variance of
    the first two lines against a threshold). The host writes the key number
    and a random 32-bit seed to 0x33, reads 4 bytes from 0x34 and XORs them
    with the seed: that is the 32-bit state of a Fibonacci LFSR. Each byte of
    an encrypted block is XORed with 8 bits tapped from the state, which then
    advances; the plaintext byte ``i`` sits in ciphertext byte ``i + 1`` and a
    block's last byte is lost (it decodes to 0). Unencrypted blocks still
    advance the state, except those flagged "no key update". A "change key"
    block makes the host take the next key number with a fresh seed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from drivers.interfaces import ImageU8

VENDOR_DIGITALPERSONA = 0x05BA
VENDOR_MICROSOFT = 0x045E

EP_INTR = 0x81
EP_DATA = 0x82
USB_RQ = 0x04
CTRL_TIMEOUT_MS = 5000
IRQ_LENGTH = 64
CR_LENGTH = 16

IMAGE_WIDTH = 384
IMAGE_HEIGHT = 290
HEADER_LENGTH = 64
FRAME_LENGTH = HEADER_LENGTH + IMAGE_WIDTH * IMAGE_HEIGHT
NATIVE_PPI = 512
ENCRYPTION_THRESHOLD = 5000
MAX_BLOCKS = 15

REG_HWSTAT = 0x07
REG_SCRAMBLE_DATA_INDEX = 0x33
REG_SCRAMBLE_DATA_KEY = 0x34
REG_MODE = 0x4E
REG_DEVICE_INFO = 0xF0
REG_RESPONSE = 0x2000
REG_CHALLENGE = 0x2010

MODE_INIT = 0x00
MODE_AWAIT_FINGER_ON = 0x10
MODE_AWAIT_FINGER_OFF = 0x12
MODE_CAPTURE = 0x20
MODE_CAPTURE_AUX = 0x30
MODE_OFF = 0x70
MODE_READY = 0x80

IRQ_SCANPWR_ON = 0x56AA
IRQ_FINGER_ON = 0x0101
IRQ_FINGER_OFF = 0x0200
IRQ_DEATH = 0x0800

BLOCK_CHANGE_KEY = 0x80
BLOCK_NO_KEY_UPDATE = 0x04
BLOCK_ENCRYPTED = 0x02
BLOCK_NOT_PRESENT = 0x01

#: AES-128 key of the challenge/response, published in libfprint.
CHALLENGE_KEY = bytes.fromhex("79ac91795ca1478e98e00f3c598f5f4b")


@dataclass(frozen=True)
class ReaderModel:
    """One entry of the VID:PID table."""

    vid: int
    pid: int
    name: str
    auth_cr: bool = False
    rotated_180: bool = False


#: VID:PID -> model. The U.are.U 4500 enumerates as 05ba:000a like the 4000B.
MODELS: dict[tuple[int, int], ReaderModel] = {
    (0x05BA, 0x0007): ReaderModel(0x05BA, 0x0007, "DigitalPersona U.are.U 4000"),
    (0x05BA, 0x0008): ReaderModel(0x05BA, 0x0008, "DigitalPersona U.are.U 4000 (keyboard)"),
    (0x05BA, 0x000A): ReaderModel(
        0x05BA, 0x000A, "DigitalPersona U.are.U 4000B/4500", rotated_180=True
    ),
    (0x045E, 0x00BB): ReaderModel(0x045E, 0x00BB, "Microsoft Keyboard with Fingerprint Reader"),
    (0x045E, 0x00BC): ReaderModel(
        0x045E, 0x00BC, "Microsoft Wireless IntelliMouse with Fingerprint Reader"
    ),
    (0x045E, 0x00BD): ReaderModel(0x045E, 0x00BD, "Microsoft Fingerprint Reader"),
    (0x045E, 0x00CA): ReaderModel(0x045E, 0x00CA, "Microsoft Fingerprint Reader v2", auth_cr=True),
}


def is_supported(vid: int, pid: int) -> bool:
    return (vid, pid) in MODELS


def irq_type(message: bytes) -> int:
    """The interrupt type: the first two bytes, big endian."""
    if len(message) < 2:
        return -1
    return int.from_bytes(message[:2], "big")


def challenge_response(challenge: bytes, key: bytes = CHALLENGE_KEY) -> bytes:
    """AES-128-ECB encryption of the 16-byte challenge."""
    if len(challenge) != CR_LENGTH:
        raise ValueError(f"challenge must be {CR_LENGTH} bytes, got {len(challenge)}")
    # The reader protocol defines a single-block AES challenge: ECB is what it uses.
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
    return encryptor.update(challenge) + encryptor.finalize()


def firmware_version(device_info: bytes) -> tuple[str, str]:
    """(firmware, hardware revision) from the 16 device-info registers."""
    if len(device_info) < 12:
        return "", ""
    return device_info[4:6].hex(), device_info[10:12].hex()


# ------------------------------------------------------------------ frame header


@dataclass(frozen=True)
class FrameHeader:
    """The 64-byte header in front of the image lines."""

    num_lines: int
    key_number: int
    blocks: tuple[tuple[int, int], ...]  # (flags, lines), up to the first empty one

    @classmethod
    def parse(cls, frame: bytes) -> FrameHeader:
        if len(frame) < HEADER_LENGTH:
            raise ValueError(f"frame of {len(frame)} bytes has no complete header")
        (num_lines,) = struct.unpack_from("<H", frame, 4)
        key_number = frame[6]
        blocks: list[tuple[int, int]] = []
        for i in range(MAX_BLOCKS):
            flags, lines = frame[16 + 2 * i], frame[17 + 2 * i]
            if lines == 0:
                break
            blocks.append((flags, lines))
        return cls(num_lines, key_number, tuple(blocks))

    def pack(self) -> bytes:
        header = bytearray(HEADER_LENGTH)
        struct.pack_into("<H", header, 4, self.num_lines)
        header[6] = self.key_number & 0xFF
        for i, (flags, lines) in enumerate(self.blocks[:MAX_BLOCKS]):
            header[16 + 2 * i] = flags
            header[17 + 2 * i] = lines
        return bytes(header)

    def validate(self, frame_length: int) -> str | None:
        """Why the frame is unusable, or ``None`` when it is consistent."""
        if self.num_lines >= IMAGE_HEIGHT:
            return f"header claims {self.num_lines} lines (max {IMAGE_HEIGHT - 1})"
        if frame_length < HEADER_LENGTH + self.num_lines * IMAGE_WIDTH:
            return f"short frame: {frame_length} bytes for {self.num_lines} lines"
        if not self.blocks:
            return "no block descriptors"
        present = sum(n for f, n in self.blocks if not f & BLOCK_NOT_PRESENT)
        if present < self.num_lines:
            return f"blocks describe {present} lines, header says {self.num_lines}"
        return None


# ------------------------------------------------------------------ encryption


def lfsr_step(key: int) -> int:
    """Advance the 32-bit scramble state one step (taps 1 3 4 7 11 13 20 23 26 29 32)."""
    parity = bin(key & 0x9248144D).count("1") & 1
    return ((parity << 31) | (key >> 1)) & 0xFFFFFFFF


def keystream_byte(key: int) -> int:
    """The byte XORed into the data at this state: bits 4 8 11 14 18 21 24 29."""
    return (
        ((key >> 4) & 1)
        | ((key >> 8) & 1) << 1
        | ((key >> 11) & 1) << 2
        | ((key >> 14) & 1) << 3
        | ((key >> 18) & 1) << 4
        | ((key >> 21) & 1) << 5
        | ((key >> 24) & 1) << 6
        | ((key >> 29) & 1) << 7
    )


def keystream(key: int, length: int) -> tuple[bytes, int]:
    """``length`` keystream bytes from state ``key`` and the state after them."""
    out = bytearray(length)
    for i in range(length):
        out[i] = keystream_byte(key)
        key = lfsr_step(key)
    return bytes(out), key


def advance(key: int, steps: int) -> int:
    for _ in range(steps):
        key = lfsr_step(key)
    return key


def decrypt_block(cipher: bytes, key: int) -> tuple[bytes, int]:
    """Decrypt one block; returns the plaintext (last byte 0) and the next state."""
    n = len(cipher)
    if n == 0:
        return b"", key
    stream, after = keystream(key, n - 1)
    plain = np.frombuffer(cipher, dtype=np.uint8, offset=1) ^ np.frombuffer(stream, dtype=np.uint8)
    return plain.tobytes() + b"\x00", lfsr_step(after)


def encrypt_block(plain: bytes, key: int, first_byte: int = 0) -> tuple[bytes, int]:
    """The inverse of :func:`decrypt_block` (the last plaintext byte is dropped)."""
    n = len(plain)
    if n == 0:
        return b"", key
    stream, after = keystream(key, n - 1)
    body = np.frombuffer(plain[: n - 1], dtype=np.uint8) ^ np.frombuffer(stream, dtype=np.uint8)
    return bytes([first_byte & 0xFF]) + body.tobytes(), lfsr_step(after)


def looks_encrypted(lines: bytes, num_lines: int) -> bool:
    """The noise test on the first two present lines (encrypted data is white noise)."""
    if num_lines < 2 or len(lines) < 2 * IMAGE_WIDTH:
        return False
    rows = np.frombuffer(lines[: 2 * IMAGE_WIDTH], dtype=np.uint8).astype(np.int64)
    pair = rows[:IMAGE_WIDTH] + rows[IMAGE_WIDTH:]
    mean = int(pair.sum()) // IMAGE_WIDTH
    dev2 = int(((pair - mean) ** 2).sum()) // IMAGE_WIDTH
    return dev2 >= ENCRYPTION_THRESHOLD


def assemble_image(header: FrameHeader, lines: bytes, *, rotated_180: bool) -> ImageU8:
    """Lay the decoded lines out as the 290 x 384 image, ridges dark."""
    out = np.zeros((IMAGE_HEIGHT, IMAGE_WIDTH), dtype=np.uint8)
    data = np.frombuffer(lines, dtype=np.uint8)
    row = to = 0
    for flags, count in header.blocks:
        if row >= header.num_lines or to >= IMAGE_HEIGHT:
            break
        take = min(count, IMAGE_HEIGHT - to)
        src = data[row * IMAGE_WIDTH : (row + take) * IMAGE_WIDTH]
        got = len(src) // IMAGE_WIDTH
        out[to : to + got] = src[: got * IMAGE_WIDTH].reshape(got, IMAGE_WIDTH)
        if not flags & BLOCK_NOT_PRESENT:
            row += count
        to += count
    image = 255 - out
    if rotated_180:
        image = np.ascontiguousarray(image[::-1, ::-1])
    return np.ascontiguousarray(image, dtype=np.uint8)
