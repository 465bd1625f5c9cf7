"""What an ATR says about extended-length APDUs (ISO/IEC 7816-3 and 7816-4 §8.1.1.2.7).

Contactless cards behind a PC/SC reader get a constructed ATR (PC/SC part 3):
``3B 8n 80 01 <historical bytes> TCK``. The historical bytes, when they start
with the category indicator 0x80, hold COMPACT-TLV objects; the third byte of
"card capabilities" (tag 7) has bit 0x40 set when extended Lc/Le are supported.
"""

from __future__ import annotations

MAX_ATR = 33


def historical_bytes(atr: bytes) -> bytes:
    if len(atr) < 2 or len(atr) > MAX_ATR:
        return b""
    count = atr[1] & 0x0F
    y = atr[1] >> 4
    pos = 2
    while True:
        pos += bin(y).count("1")
        if not y & 0x8 or pos > len(atr):
            break
        y = atr[pos - 1] >> 4
    if pos + count > len(atr):
        return b""
    return atr[pos : pos + count]


def supports_extended_length(atr: bytes) -> bool:
    hist = historical_bytes(atr)
    if not hist or hist[0] != 0x80:
        return False
    pos = 1
    while pos < len(hist):
        tag, length = hist[pos] >> 4, hist[pos] & 0x0F
        value = hist[pos + 1 : pos + 1 + length]
        if tag == 0x7 and len(value) >= 3:
            return bool(value[2] & 0x40)
        pos += 1 + length
    return False
