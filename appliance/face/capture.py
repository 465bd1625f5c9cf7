"""Turning a captured frame into the enrolment's face item.

The full ICAO check runs on the frame; the ISO/IEC 19794-5 token image is cut
from it and encoded (JPEG 2000 where OpenCV has it, else JPEG); the check
results go into the item's manifest entry as flat quality figures:
``icao_compliant`` (0/1), ``icao_failed`` (comma-separated check names) and
``icao.<check>`` (the raw value of each check that has one).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy.typing as npt

from appliance.config.quality import FaceQualityThresholds
from appliance.face.engine import PhotoQualityEngine, PhotoReport
from appliance.face.guidance import prompts_for
from appliance.face.models import ModelError
from appliance.face.token import encode, make_token, warm_up_token

logger = logging.getLogger(__name__)


class NoFaceFound(ValueError):
    """The frame holds no usable face; nothing is kept."""


@dataclass(frozen=True)
class FaceItem:
    data: bytes
    media_type: str
    metadata: dict[str, Any]
    report: PhotoReport
    prompts: list[str]


def quality_figures(report: PhotoReport) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "icao_compliant": int(report.compliant),
        "icao_failed": ",".join(report.failed),
        "faces": report.faces,
    }
    for name, check in report.as_json()["checks"].items():
        if check["value"] is not None:
            figures[f"icao.{name}"] = check["value"]
    return figures


class FaceCaptureService:
    """Owns the engine (loaded on first use) and serialises calls to it."""

    def __init__(
        self, thresholds: FaceQualityThresholds | None = None, models_dir: Path | None = None
    ) -> None:
        self._thresholds = thresholds
        self._models_dir = models_dir
        self._engine: PhotoQualityEngine | None = None
        self._available: bool | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> PhotoQualityEngine:
        with self._lock:
            if self._engine is None:
                self._engine = PhotoQualityEngine(self._thresholds, models_dir=self._models_dir)
            return self._engine

    def available(self) -> bool:
        """Load the models now; False (logged once) when they are missing.

        The verdict is kept: callers ask on every capture, and a missing model
        file does not appear while the daemon runs (install is a restart).
        """
        if self._available is None:
            try:
                self.engine  # noqa: B018 - loads the models
                self._available = True
            except ModelError as exc:
                logger.error("face engine unavailable: %s", exc)
                self._available = False
        return self._available

    def warm_up(self) -> None:
        """Load the models and run every path once (detection, mesh, iris,
        segmentation, each check, the token cut and its JPEG 2000 encoding) so
        that the first applicant does not wait. Call before signalling READY;
        raises :class:`ModelError` when a model is missing.
        """
        engine = self.engine
        with self._lock:
            engine.warm_up()
        warm_up_token()
        self._available = True

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None

    def item_from_frame(self, frame: npt.NDArray[Any]) -> FaceItem:
        """Check ``frame`` and build the token item; raises :class:`NoFaceFound`."""
        engine = self.engine
        with self._lock:
            report = engine.assess(frame)
        if report.landmarks is None:
            raise NoFaceFound("no face in the frame")
        token = make_token(frame, report.landmarks)
        data, media_type = encode(token.image)
        metadata = {
            "format": "ISO/IEC 19794-5 token frontal",
            "width": token.width,
            "height": token.height,
            **quality_figures(report),
        }
        return FaceItem(data, media_type, metadata, report, prompts_for(report))
