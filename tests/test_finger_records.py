"""ANSI/NIST-ITL and ISO/IEC 19794-4 records read back with independent parsers (here)."""

from __future__ import annotations

import io
import re
import struct

import numpy as np
from PIL import Image

from appliance.finger.records import (
    NFIQ2_ALGORITHM,
    NFIQ2_VENDOR,
    FingerCapture,
    MissingFinger,
    ansi_nist_transaction,
    encode_wsq,
    iso19794_4_record,
)
from drivers.interfaces import CaptureKind, FingerPosition
from drivers.sim.fingerprint_synth import synthesize_finger, synthesize_slap

GS, FS, RS, US = b"\x1d", b"\x1c", b"\x1e", b"\x1f"


def parse_ansi_nist(data: bytes) -> list[dict[int, bytes]]:
    """Traditional encoding: each record starts 'T.001:LEN'; fields split on GS."""
    records = []
    offset = 0
    while offset < len(data):
        match = re.match(rb"(\d+)\.001:(\d+)" + GS, data[offset : offset + 40])
        assert match, f"no record header at {offset}"
        length = int(match.group(2))
        raw = data[offset : offset + length]
        assert raw.endswith(FS)
        fields: dict[int, bytes] = {}
        body = raw[:-1]
        while body:
            tag = re.match(rb"\d+\.(\d+):", body)
            assert tag
            number = int(tag.group(1))
            start = tag.end()
            if number == 999:  # image data runs to the end of the record
                fields[number] = body[start:]
                break
            end = body.find(GS, start)
            end = len(body) if end < 0 else end
            fields[number] = body[start:end]
            body = body[end + 1 :]
        records.append({"type": int(match.group(1)), **fields})  # type: ignore[dict-item]
        offset += length
    return records


def _captures() -> tuple[list[FingerCapture], np.ndarray]:
    slap = synthesize_slap(
        2, CaptureKind.SLAP_RIGHT_FOUR, missing=frozenset({FingerPosition.RIGHT_RING})
    )
    finger = synthesize_finger(2, FingerPosition.RIGHT_INDEX)
    segments = tuple((p, *box) for p, box in slap.fingers)
    return [
        FingerCapture(FingerPosition.PLAIN_RIGHT_FOUR, slap.pixels, None, segments),
        FingerCapture(FingerPosition.RIGHT_INDEX, finger, 61),
    ], finger


def test_wsq_round_trip() -> None:
    finger = synthesize_finger(3, FingerPosition.LEFT_INDEX)
    data = encode_wsq(finger)
    assert data.startswith(b"\xff\xa0")
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float64)
    assert decoded.shape == finger.shape
    mse = float(np.mean((decoded - finger.astype(np.float64)) ** 2))
    psnr = 10 * np.log10(255**2 / mse)
    assert psnr > 25


def test_ansi_nist_transaction_reads_back() -> None:
    captures, finger = _captures()
    data = ansi_nist_transaction(
        captures,
        [MissingFinger(FingerPosition.RIGHT_RING, "XX")],
        transaction_control="T-1",
        originating_agency="AIMA0001",
        face_jpeg=b"\xff\xd8\xff\xe0 face",
        face_size=(413, 531),
    )
    records = parse_ansi_nist(data)
    assert [r["type"] for r in records] == [1, 2, 14, 14, 10]
    assert records[0][4] == b"CAR"
    assert records[0][2] == b"0500"  # ANSI/NIST-ITL 1-2011
    slap, single, face = records[2], records[3], records[4]
    assert slap[13] == b"13" and single[13] == b"2"
    assert slap[3] == b"0" and slap[11] == b"WSQ20"
    segments = [s.split(US) for s in slap[21].split(RS)]
    assert [s[0] for s in segments] == [b"2", b"3", b"5"]
    assert slap[18] == b"4" + US + b"XX"
    quality = single[24].split(US)
    assert quality == [
        b"2",
        b"61",
        b"000F",  # QAV: hexadecimal IBIA vendor id (NIST)
        b"14205",  # QAP: decimal product code (NFIQ 2 = 0x377D)
    ]
    image = Image.open(io.BytesIO(single[999]))
    assert image.size == (finger.shape[1], finger.shape[0])
    assert face[999].startswith(b"\xff\xd8")
    assert int(face[6]) == 413


def test_iso19794_4_record_reads_back() -> None:
    captures, _finger = _captures()
    data = iso19794_4_record(captures)
    assert data[:8] == b"FIR\x00020\x00"
    (length,) = struct.unpack(">I", data[8:12])
    assert length == len(data)
    count, cert_flag, positions = struct.unpack(">HBB", data[12:16])
    assert (count, cert_flag, positions) == (2, 0, 2)
    offset = 16
    seen = []
    for _ in range(count):
        (rep_length,) = struct.unpack(">I", data[offset : offset + 4])
        rep = data[offset + 4 : offset + rep_length]
        year = struct.unpack(">H", rep[:2])[0]
        assert year >= 2026
        pos = 9 + 5
        (quality_blocks,) = struct.unpack(">B", rep[pos : pos + 1])
        pos += 1
        scores = [
            struct.unpack(">BHH", rep[pos + 5 * i : pos + 5 * i + 5]) for i in range(quality_blocks)
        ]
        pos += 5 * quality_blocks
        fgp, number, _scale = struct.unpack(">BBB", rep[pos : pos + 3])
        pos += 3
        resolutions = struct.unpack(">HHHH", rep[pos : pos + 8])
        pos += 8
        depth, compression, _impression = struct.unpack(">BBB", rep[pos : pos + 3])
        pos += 3
        width, height, size = struct.unpack(">HHI", rep[pos : pos + 8])
        pos += 8
        image = rep[pos : pos + size]
        assert len(image) == size and pos + size == len(rep)
        assert resolutions == (500, 500, 500, 500) and depth == 8 and compression == 2
        assert Image.open(io.BytesIO(image)).size == (width, height)
        seen.append((fgp, number, scores))
        offset += rep_length
    assert offset == len(data)
    assert seen[0][0] == 13 and seen[1][0] == 2
    assert seen[1][2] == [(61, NFIQ2_VENDOR, NFIQ2_ALGORITHM)]
