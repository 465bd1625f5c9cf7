"""The document-chip part of the capture service: read, authenticate, match the face.

A passport's or residence permit's chip is opened with keys from its MRZ (BAC),
read over PC/SC, passively authenticated against the CSCA trust store (EF.SOD
signature, document signer, data-group hashes, DG1 = printed MRZ, active
authentication when present), and its DG2 portrait is compared 1:1 with the
live ICAO capture. The verdicts and the match score always go into the
enrolment as a ``chip.json`` record; the DG2 image is sealed with the packet
only when ``documents.chip.seal_dg2`` says central needs it, and otherwise lives
in memory for the review screen only.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from appliance.capture.captures import Capture, EnrolmentCaptures
from appliance.capture.devices import DeviceAccess
from appliance.capture.errors import CaptureError
from appliance.config.documents import ChipConfig
from appliance.devices import DeviceRole
from appliance.documents.chip.read import read_chip
from appliance.documents.chip.trust import CscaTrustStore
from appliance.documents.chip.verdict import ChipVerdict, verify_chip
from appliance.facematch.dg2 import Dg2Error, FacePortrait, decode_dg2
from appliance.facematch.matcher import FaceMatcher, MatchResult, NoFaceFound
from appliance.metrics import ApplianceMetrics
from drivers.emrtd.errors import CardRemoved, ChipAccessDenied, NoCard
from drivers.emrtd.mrz_key import MrzKeyInput
from drivers.errors import DeviceError

logger = logging.getLogger(__name__)

CHIP_RECORD = "chip.json"
DG2_NAME = "chip-dg2"


@dataclass(frozen=True)
class ChipResult:
    verdict: ChipVerdict
    match: MatchResult | None
    match_error: str | None  # "no_face:document" | "no_face:live" | "no_live_capture" | "dg2"
    record: Capture
    portrait: FacePortrait | None  # the chip's DG2 portrait (memory only unless sealed)

    @property
    def needs_decision(self) -> bool:
        """Authenticity failed or the faces do not match: a supervisor decides."""
        return not self.verdict.passed or self.match is None or not self.match.match


class ChipCapture:
    def __init__(
        self,
        devices: DeviceAccess,
        trust: CscaTrustStore,
        matcher: FaceMatcher,
        config: ChipConfig,
        metrics: ApplianceMetrics,
    ) -> None:
        self._devices = devices
        self._trust = trust
        self._matcher = matcher
        self._config = config
        self._metrics = metrics

    async def read(
        self,
        captures: EnrolmentCaptures,
        key: MrzKeyInput,
        printed_mrz: str | None,
        live_face: bytes | None,
    ) -> ChipResult:
        """Read and judge the chip on the reader (raises CaptureError with chip.* codes)."""
        try:
            reader = self._devices.supervisor.document_reader()
        except Exception as exc:  # DeviceUnavailable: the reader is not usable now
            raise CaptureError(getattr(exc, "message_key", "device.error"), str(exc)) from None
        try:
            reading = await read_chip(reader, key, wait_s=self._config.read_timeout_s)
        except ChipAccessDenied:
            raise CaptureError("chip.access_denied", "the MRZ keys do not open the chip") from None
        except CardRemoved:
            raise CaptureError("chip.card_removed", "the document left the reader") from None
        except NoCard:
            raise CaptureError("chip.no_card", "no document was placed on the reader") from None
        except DeviceError as exc:
            self._devices.failed(DeviceRole.DOCUMENT_READER, exc)
            raise CaptureError(exc.message_key, exc.detail) from None
        verdict = await asyncio.to_thread(verify_chip, reading, self._trust, printed_mrz)
        self._metrics.captures.labels("chip").inc()
        if not verdict.passed:
            self._metrics.quality_rejects.labels("chip_authenticity").inc()
        portrait, match, match_error = await asyncio.to_thread(
            self._match, reading.data_groups.get(2), live_face
        )
        if match is not None and not match.match:
            self._metrics.quality_rejects.labels("face_match").inc()
        figures: dict[str, Any] = {**verdict.manifest()}
        if match is not None:
            figures.update(match.manifest())
        if match_error is not None:
            figures["face_match.error"] = match_error
        record = captures.add(
            "record", "application/json", CHIP_RECORD, _record_json(figures), **_flat(figures)
        )
        captures.drop_where(names=frozenset({f"{DG2_NAME}.jpg", f"{DG2_NAME}.jp2"}))
        if portrait is not None and self._config.seal_dg2:
            ext = "jp2" if portrait.format == "jpeg2000" else "jpg"
            media = "image/jp2" if ext == "jp2" else "image/jpeg"
            captures.add(
                "document", media, f"{DG2_NAME}.{ext}", portrait.encoded, source="chip DG2"
            )
        return ChipResult(verdict, match, match_error, record, portrait)

    def _match(
        self, dg2: bytes | None, live_face: bytes | None
    ) -> tuple[FacePortrait | None, MatchResult | None, str | None]:
        if dg2 is None:
            return None, None, "dg2"
        try:
            portrait = decode_dg2(dg2)
        except Dg2Error:
            return None, None, "dg2"
        if live_face is None:
            return portrait, None, "no_live_capture"
        decoded = cv2.imdecode(np.frombuffer(live_face, np.uint8), cv2.IMREAD_COLOR)
        if decoded is None:
            return portrait, None, "no_live_capture"
        live = np.asarray(decoded, dtype=np.uint8)
        try:
            return portrait, self._matcher.compare(portrait.image, live), None
        except NoFaceFound as exc:
            return portrait, None, f"no_face:{exc.which}"

    def warm_up(self) -> None:
        """One descriptor of a synthetic portrait: the first real comparison is not slower."""
        from drivers.sim.portrait import PortraitScene, render_portrait

        try:
            self._matcher.embed(render_portrait(PortraitScene(), 480, 600, seed=0), "warm-up")
        except NoFaceFound:  # pragma: no cover - the synthetic portrait has a face
            logger.warning("face-match warm-up found no face in the synthetic portrait")


def _record_json(figures: dict[str, Any]) -> bytes:
    return json.dumps(figures, sort_keys=True, default=str).encode()


def _flat(figures: dict[str, Any]) -> dict[str, Any]:
    """Manifest quality values are scalars: lists become comma-separated text."""
    return {
        key: ",".join(str(v) for v in value) if isinstance(value, list) else value
        for key, value in figures.items()
        if value is not None
    }
