"""The document part of the capture service: the appointment QR, document photos, the MRZ.

A document is taken from the document camera (the face camera when there is
none) and straightened when it is found (:mod:`appliance.documents.perspective`);
within ``timeout_s`` the service keeps trying for a straightened frame, then
keeps the frame as it is, marked as not corrected, for the operator to judge.
Taking the photo is quick (a frame, the straightening, the JPEG: about 30 ms);
its machine-readable zone is read and checked afterwards, by :meth:`DocumentCapture.
read_mrz` (:mod:`appliance.documents.mrz_reader`, most of a second on a kiosk), so
that the workflow can read it in the background: the verdict and the parsed
fields then go into the item's manifest entry (no extra image copies). The live
preview's analysis outlines the document and, with the MRZ reader, says what to
fix (no MRZ found, move closer, glare, hold still).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import Any

import cv2

from appliance.capture.captures import Capture, EnrolmentCaptures
from appliance.capture.devices import DeviceAccess
from appliance.capture.errors import CaptureError
from appliance.documents.mrz_guidance import MrzGuidance
from appliance.documents.mrz_reader import MrzReader, MrzResult
from appliance.documents.perspective import RectifiedDocument, analyse_document_frame, rectify
from appliance.documents.qr import case_reference_from_payload, decode_qr
from appliance.metrics import ApplianceMetrics
from drivers.interfaces import ImageU8

DOCUMENT_KINDS = ("passport", "residence_permit", "id_card", "other")


@dataclass(frozen=True)
class DocumentPhoto:
    """A document just photographed: its capture is kept, its MRZ not read yet."""

    capture: Capture
    kind: str
    corrected: bool
    format: str | None
    #: The straightened image the MRZ is read from (memory only, dropped with the photo).
    rectified: RectifiedDocument = field(repr=False)
    started: float  # time.perf_counter() when the photo was asked for


def mrz_figures(result: MrzResult) -> dict[str, Any]:
    """The manifest entry's MRZ fields: verdict, checks, confidence and the parsed fields."""
    figures: dict[str, Any] = {
        "mrz.verdict": result.verdict,
        "mrz.failed_checks": ",".join(result.failed_checks),
        "mrz.confidence": round(result.confidence, 3),
    }
    if result.record is not None and result.verdict != "unreadable":
        for key, value in result.record.fields_json().items():
            if key != "lines":
                figures[f"mrz.{key}"] = value
    return figures


class DocumentCapture:
    def __init__(
        self, devices: DeviceAccess, metrics: ApplianceMetrics, mrz: MrzReader | None = None
    ) -> None:
        self._devices = devices
        self._metrics = metrics
        self._mrz = mrz
        self._guidance = MrzGuidance(mrz.detector) if mrz is not None else None

    @property
    def reads_mrz(self) -> bool:
        return self._mrz is not None

    def warm_up(self) -> None:
        """Photograph and read a generated SPECIMEN document of each card format once,
        the way :meth:`take` and :meth:`read_mrz` do (straightened first, so the text
        detector's first inferences run at the sizes real photos have): no one's document."""
        if self._mrz is None:
            return
        from appliance.documents.specimen_set import generate

        read: set[str] = set()
        for case in generate(seed=1, counts={"readable": 3}):  # scenes of ID-1 and ID-3 cards
            photo = rectify(case.image)
            card = photo.format or ""
            if card not in read:
                read.add(card)
                _jpeg(photo.image)
                self._mrz.read(photo.image)

    def analyse(self, image: ImageU8) -> dict[str, Any]:
        """The live preview's analysis: the document's outline and, with MRZ, what to fix."""
        analysis = analyse_document_frame(image)
        if self._guidance is not None:
            hints = self._guidance.analyse(image)
            analysis["prompts"] = [*analysis["prompts"], *hints.prompts]
            analysis["mrz_band"] = [list(corner) for corner in hints.band]
            analysis["ok"] = not analysis["prompts"]
        return analysis

    @staticmethod
    async def case_reference_in(image: ImageU8) -> str | None:
        """The case reference of an appointment QR code in ``image``, if any."""
        payload = await asyncio.to_thread(decode_qr, image)
        return case_reference_from_payload(payload) if payload else None

    async def take(
        self, captures: EnrolmentCaptures, kind: str, number: int, timeout_s: float = 3.0
    ) -> DocumentPhoto:
        """Photograph the document (straightened when found) and keep it; the MRZ is
        read by :meth:`read_mrz`."""
        if kind not in DOCUMENT_KINDS:
            raise CaptureError("document.bad_kind", f"unknown document kind {kind!r}")
        started = time.perf_counter()
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
        corrected, format_ = rectified.corrected, rectified.format
        return DocumentPhoto(capture, kind, corrected, format_, rectified, started)

    async def read_mrz(self, photo: DocumentPhoto) -> MrzResult | None:
        """Read and check the photo's MRZ; its figures join the capture's manifest entry.
        None: this kiosk reads no MRZ (demo without the models)."""
        if self._mrz is None:
            return None
        mrz = await asyncio.to_thread(read_document_mrz, self._mrz, photo.rectified)
        if mrz.verdict != "valid":
            self._metrics.quality_rejects.labels(f"mrz_{mrz.verdict}").inc()
        photo.capture.quality.update(mrz_figures(mrz))
        return mrz


def read_document_mrz(reader: MrzReader, rectified: RectifiedDocument) -> MrzResult:
    """The MRZ of a photographed document (blocking).

    A straightened document's MRZ is at the bottom of the card or data page
    (ICAO 9303 parts 4-6): its lower half is read first, which halves the text
    detector's work. When that gives nothing readable (a document upside down,
    a band the cut disturbed), the whole image is read, as for a photo that
    could not be straightened.
    """
    image = rectified.image
    if rectified.corrected:
        top = image.shape[0] // 2
        lower = reader.read(image[top:])
        if lower.verdict != "unreadable":
            return replace(lower, band=tuple((x, y + top) for x, y in lower.band))
    return reader.read(image)


def _jpeg(image: ImageU8, quality: int = 90) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise CaptureError("document.encode_failed", "cannot encode the document image")
    return bytes(buffer)
