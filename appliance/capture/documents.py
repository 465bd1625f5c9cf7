"""The document part of the capture service: the appointment QR and document photos.

A document is taken from the document camera (the face camera when there is
none) and straightened when it is found (:mod:`appliance.documents.perspective`);
within ``timeout_s`` the service keeps trying for a straightened frame, then
keeps the frame as it is, marked as not corrected, for the operator to judge.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import cv2

from appliance.capture.captures import Capture, EnrolmentCaptures
from appliance.capture.devices import DeviceAccess
from appliance.capture.errors import CaptureError
from appliance.documents.perspective import analyse_document_frame, rectify
from appliance.documents.qr import case_reference_from_payload, decode_qr
from appliance.metrics import ApplianceMetrics
from drivers.interfaces import ImageU8

DOCUMENT_KINDS = ("passport", "residence_permit", "id_card", "other")


@dataclass(frozen=True)
class DocumentResult:
    capture: Capture
    kind: str
    corrected: bool
    format: str | None


class DocumentCapture:
    def __init__(self, devices: DeviceAccess, metrics: ApplianceMetrics) -> None:
        self._devices = devices
        self._metrics = metrics

    analyse = staticmethod(analyse_document_frame)

    @staticmethod
    async def case_reference_in(image: ImageU8) -> str | None:
        """The case reference of an appointment QR code in ``image``, if any."""
        payload = await asyncio.to_thread(decode_qr, image)
        return case_reference_from_payload(payload) if payload else None

    async def take(
        self, captures: EnrolmentCaptures, kind: str, number: int, timeout_s: float = 3.0
    ) -> DocumentResult:
        if kind not in DOCUMENT_KINDS:
            raise CaptureError("document.bad_kind", f"unknown document kind {kind!r}")
        role = self._devices.document_role()
        deadline = time.monotonic() + timeout_s
        while True:
            frame = await self._devices.read_frame(role)
            rectified = await asyncio.to_thread(rectify, frame.image)
            if rectified.corrected or time.monotonic() > deadline:
                break
        jpeg = await asyncio.to_thread(_jpeg, rectified.image)
        height, width = rectified.image.shape[:2]
        capture = captures.add(
            "document",
            "image/jpeg",
            f"document-{number}.jpg",
            jpeg,
            document_kind=kind,
            corrected=int(rectified.corrected),
            format=rectified.format or "",
            width=width,
            height=height,
        )
        self._metrics.captures.labels("document").inc()
        return DocumentResult(capture, kind, rectified.corrected, rectified.format)


def _jpeg(image: ImageU8, quality: int = 90) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise CaptureError("document.encode_failed", "cannot encode the document image")
    return bytes(buffer)
