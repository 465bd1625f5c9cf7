"""Fingerprint records: WSQ images, an ANSI/NIST-ITL 1-2011 transaction, ISO/IEC 19794-4:2011.

Everything is built in memory and handed to the sealer; nothing is written to
disk here.

- WSQ (FBI IAFIS-IC-0110) at 500 ppi via the ``wsq`` Pillow codec.
- ANSI/NIST-ITL 1-2011 (``nistitl``): Type-1, Type-2, one Type-14 per finger and per
  slap (IMP, FGP, SEG for slaps, FQM with the NFIQ 2 score and its IBIA-registered
  ids, AMP for missing fingers, WSQ data), and a Type-10 face image when present.
- ISO/IEC 19794-4:2011 finger image record (one representation per finger).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from drivers.interfaces import FingerPosition

ImageU8 = npt.NDArray[np.uint8]

#: IBIA quality algorithm registry: NIST (0x000F), NFIQ (0x377D = 14205).
NFIQ2_VENDOR = 0x000F
NFIQ2_ALGORITHM = 0x377D
#: Field 1.002 / VER for an ANSI/NIST-ITL 1-2011 transaction ("0400" was 1-2007's).
ANSI_NIST_VERSION = "0500"
IMP_PLAIN_LIVE_SCAN = 0
ISO_COMPRESSION_WSQ = 2
ISO_SCALE_PPI = 1


@dataclass(frozen=True)
class FingerCapture:
    """One finger or slap image as it goes into the records."""

    position: FingerPosition
    pixels: ImageU8
    nfiq2: int | None
    #: For slaps: the fingers' boxes (position, x, y, w, h) inside the slap image.
    segments: tuple[tuple[FingerPosition, int, int, int, int], ...] = ()
    captured_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    #: The image WSQ-encoded, when it was done ahead (see :meth:`encoded`); the records
    #: then reuse it instead of encoding the same pixels again.
    wsq: bytes = b""

    def encoded(self) -> FingerCapture:
        """This capture with its WSQ encoding done (once)."""
        return self if self.wsq else dataclasses.replace(self, wsq=encode_wsq(self.pixels))


@dataclass(frozen=True)
class MissingFinger:
    position: FingerPosition
    reason: str  # "XX" amputated, "UP" unable to print

    def __post_init__(self) -> None:
        if self.reason not in ("XX", "UP"):
            raise ValueError("missing-finger reason must be XX (amputated) or UP (unable to print)")


def encode_wsq(pixels: ImageU8) -> bytes:
    """WSQ-compress an 8-bit grayscale 500 ppi image."""
    import wsq  # noqa: F401 - registers the codec with Pillow
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), mode="L").save(out, format="WSQ")
    return out.getvalue()


def ansi_nist_transaction(
    captures: list[FingerCapture],
    missing: list[MissingFinger],
    *,
    transaction_control: str,
    originating_agency: str,
    face_jpeg: bytes | None = None,
    face_size: tuple[int, int] | None = None,
) -> bytes:
    """An ANSI/NIST-ITL 1-2011 transaction (traditional encoding)."""
    from nistitl import AsciiRecord, BinaryField, Field, Message

    now = dt.datetime.now(dt.UTC)
    message = Message()
    message.TOT = "CAR"  # criminal/civil applicant record; AIMA's profile may rename it
    message[0].VER = ANSI_NIST_VERSION
    message[0].DAT = now.strftime("%Y%m%d")
    message[0].TCN = transaction_control
    message[0].ORI = originating_agency
    idc = 1
    record2 = AsciiRecord(2)
    record2.IDC = 0
    message += record2
    missing_codes = [[str(int(m.position)), m.reason] for m in missing]
    for capture in captures:
        height, width = capture.pixels.shape
        record = AsciiRecord(14)
        record.IDC = idc
        idc += 1
        record += Field(14, 3, str(IMP_PLAIN_LIVE_SCAN))  # IMP
        record += Field(14, 4, originating_agency)  # SRC
        record += Field(14, 5, capture.captured_at.strftime("%Y%m%d"))  # FCD
        record += Field(14, 6, str(width))  # HLL
        record += Field(14, 7, str(height))  # VLL
        record += Field(14, 8, "1")  # SLC: pixels per inch
        record += Field(14, 9, "500")  # THPS
        record += Field(14, 10, "500")  # TVPS
        record += Field(14, 11, "WSQ20")  # CGA
        record += Field(14, 12, "8")  # BPX
        record += Field(14, 13, str(int(capture.position)))  # FGP
        if capture.segments:
            # SEG: FGP, left, right, top, bottom of each finger in the slap.
            record += Field(
                14,
                21,
                [
                    [str(int(p)), str(x), str(x + w), str(y), str(y + h)]
                    for p, x, y, w, h in capture.segments
                ],
            )
        relevant = [m for m in missing_codes if _in_slap(int(m[0]), capture)]
        if relevant:
            record += Field(14, 18, relevant)  # AMP
        if capture.nfiq2 is not None:
            # FQM (ANSI/NIST-ITL 1-2011, 8.14.24 with the quality metric items of 7.7.7):
            # FGP; QVV 0-100; QAV the IBIA-assigned vendor id as four hexadecimal
            # characters (character type H, 4..4); QAP the vendor's product code as a
            # decimal integer 1..65535 (type N). So NFIQ 2 is "000F" and "14205".
            record += Field(
                14,
                24,
                [
                    [
                        str(int(capture.position)),
                        str(capture.nfiq2),
                        f"{NFIQ2_VENDOR:04X}",
                        str(NFIQ2_ALGORITHM),
                    ]
                ],
            )
        record += BinaryField(14, 999, capture.encoded().wsq)
        message += record
    if face_jpeg is not None:
        record = AsciiRecord(10)
        record.IDC = idc
        width, height = face_size or (0, 0)
        record += Field(10, 3, "FACE")  # IMT
        record += Field(10, 4, originating_agency)  # SRC
        record += Field(10, 5, now.strftime("%Y%m%d"))  # PHD
        record += Field(10, 6, str(width))  # HLL
        record += Field(10, 7, str(height))  # VLL
        record += Field(10, 8, "0")  # SLC
        record += Field(10, 9, "1")  # THPS (aspect ratio only)
        record += Field(10, 10, "1")  # TVPS
        record += Field(10, 11, "JPEGB")  # CGA
        record += Field(10, 12, "SRGB")  # CSP
        record += BinaryField(10, 999, face_jpeg)
        message += record
    return bytes(message.NIST)


def _in_slap(position: int, capture: FingerCapture) -> bool:
    slaps = {
        FingerPosition.PLAIN_RIGHT_FOUR: range(2, 6),
        FingerPosition.PLAIN_LEFT_FOUR: range(7, 11),
        FingerPosition.PLAIN_THUMBS: (1, 6),
    }
    members = slaps.get(capture.position)
    return position in members if members is not None else position == int(capture.position)


def iso19794_4_record(captures: list[FingerCapture]) -> bytes:
    """ISO/IEC 19794-4:2011 finger image record, WSQ-compressed, one representation each."""
    representations = []
    for number, capture in enumerate(captures, start=1):
        height, width = capture.pixels.shape
        data = capture.encoded().wsq
        when = capture.captured_at.astimezone(dt.UTC)
        quality = b""
        if capture.nfiq2 is not None:
            quality = struct.pack(">BHH", capture.nfiq2, NFIQ2_VENDOR, NFIQ2_ALGORITHM)
        body = (
            struct.pack(
                ">HBBBBBH",
                when.year,
                when.month,
                when.day,
                when.hour,
                when.minute,
                when.second,
                when.microsecond // 1000,
            )
            + struct.pack(">BHH", 0, 0, 0)  # technology, vendor, device type: unreported
            + struct.pack(">B", 1 if quality else 0)
            + quality
            + struct.pack(">BBB", int(capture.position), number, ISO_SCALE_PPI)
            + struct.pack(">HHHH", 500, 500, 500, 500)
            + struct.pack(">BBB", 8, ISO_COMPRESSION_WSQ, IMP_PLAIN_LIVE_SCAN)
            + struct.pack(">HHI", width, height, len(data))
            + data
        )
        representations.append(struct.pack(">I", 4 + len(body)) + body)
    payload = b"".join(representations)
    positions = len({int(c.position) for c in captures})
    header = (
        b"FIR\x00"
        + b"020\x00"
        + struct.pack(">I", 16 + len(payload))
        + struct.pack(">HBB", len(captures), 0, positions)
    )
    return header + payload
