"""One enrolment: capture from the devices, then seal straight into the outbox.

Captures stay in memory; :func:`submit_enrolment` streams them through the
sealer into the outbox's temp file, which is renamed into place only when
complete. This is the single place that turns captures into packet items, so
the face (ICAO token image) and fingerprint (WSQ, ANSI/NIST) pipelines plug in
here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import cv2

from appliance import __version__
from appliance.outbox import Outbox, OutboxEntry
from drivers.interfaces import (
    Camera,
    CaptureKind,
    CaptureRequest,
    FingerPosition,
    FingerprintReader,
)
from packet.keys import CentralPublicKey
from packet.manifest import EnrolmentMeta, uuid7
from packet.seal import DeviceSigner, ItemSource, seal_packet, utc_now


@dataclass
class Enrolment:
    """What has been captured for one applicant (in memory only)."""

    case_reference: str
    operator_id: str
    site_id: str
    started_at: str = field(default_factory=utc_now)
    items: list[ItemSource] = field(default_factory=list)
    packet_id: str = field(default_factory=uuid7)


def _encode(image: Any, ext: str, params: list[int] | None = None) -> bytes:
    ok, buffer = cv2.imencode(ext, image, params or [])
    if not ok:
        raise ValueError(f"cannot encode capture as {ext}")
    return bytes(buffer)


async def capture_basic(enrolment: Enrolment, camera: Camera, reader: FingerprintReader) -> None:
    """Face photo and the right four-finger slap, as the demo and smoke tests use."""
    frame = await camera.read_frame()
    face = await asyncio.to_thread(_encode, frame.image, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 92])
    enrolment.items.append(
        ItemSource("face.jpg", "face", "image/jpeg", face, captured_at=utc_now())
    )
    slap = await reader.capture(
        CaptureRequest(CaptureKind.SLAP_RIGHT_FOUR, FingerPosition.PLAIN_RIGHT_FOUR)
    )
    png = await asyncio.to_thread(_encode, slap.pixels, ".png")
    enrolment.items.append(
        ItemSource(
            "slap_right_four.png",
            "slap",
            "image/png",
            png,
            quality={"ppi": slap.ppi},
            captured_at=utc_now(),
        )
    )


def submit_enrolment(
    enrolment: Enrolment, outbox: Outbox, signer: DeviceSigner, central_key: CentralPublicKey
) -> OutboxEntry:
    """Seal the enrolment into the outbox (blocking; run it in a worker thread)."""
    meta = EnrolmentMeta(
        site_id=enrolment.site_id,
        operator_id=enrolment.operator_id,
        case_reference=enrolment.case_reference,
        software_version=__version__,
        started_at=enrolment.started_at,
    )

    def write(handle: BinaryIO) -> tuple[int, str]:
        result = seal_packet(
            handle,
            enrolment.items,
            signer=signer,
            central_key=central_key,
            meta=meta,
            packet_id=enrolment.packet_id,
        )
        return result.size, result.sha256

    entry = outbox.add(enrolment.packet_id, write)
    enrolment.items.clear()  # the captures now exist only inside the sealed packet
    return entry
