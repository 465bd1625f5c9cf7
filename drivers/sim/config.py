"""Config models of the simulated devices (light: no image code is imported here)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.sim.faults import FaultConfig


class SimCameraConfig(BaseModel):
    """A simulated camera rendering a portrait scene."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sim"] = Field(description="Driver selector: the simulated portrait camera.")
    device_id: str = Field(default="sim-camera-0", description="Id shown in the device list.")
    width: int = Field(default=640, ge=160, le=4096, description="Frame width in pixels.")
    height: int = Field(default=480, ge=120, le=4096, description="Frame height in pixels.")
    fps: float = Field(default=30.0, gt=0, le=120, description="Frame rate the camera paces to.")
    seed: int = Field(default=0, description="Seed for sensor noise, so runs are repeatable.")
    faults: FaultConfig = Field(default_factory=FaultConfig, description="Injected faults.")


class FileCameraConfig(BaseModel):
    """A camera that plays image files (JPEG/PNG/...) in order, looping."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["file"] = Field(description="Driver selector: play image files as frames.")
    device_id: str = Field(default="file-camera-0", description="Id shown in the device list.")
    paths: list[Path] = Field(min_length=1, description="Image files to play, in order.")
    fps: float = Field(default=15.0, gt=0, le=120, description="Frame rate the camera paces to.")
    loop: bool = Field(default=True, description="Start again after the last file.")
    faults: FaultConfig = Field(default_factory=FaultConfig, description="Injected faults.")


class SimReaderConfig(BaseModel):
    """A simulated 500 ppi ten-print reader (flat singles, rolls and 4-4-2 slaps)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sim"] = Field(description="Driver selector: the simulated fingerprint reader.")
    device_id: str = Field(default="sim-reader-0", description="Id shown in the device list.")
    subject_seed: int = Field(
        default=1, description="Seed of the synthetic applicant whose fingers are presented."
    )
    finger_delay_s: float = Field(
        default=0.2,
        ge=0.0,
        le=30.0,
        description="Simulated applicant delay between 'place finger' and the finger landing.",
    )
    lift_delay_s: float = Field(
        default=0.1, ge=0.0, le=30.0, description="Simulated delay before the finger is lifted."
    )
    preview_interval_s: float = Field(
        default=0.02,
        ge=0.0,
        le=1.0,
        description="Time between preview frames while the finger settles (auto-capture).",
    )
    faults: FaultConfig = Field(default_factory=FaultConfig, description="Injected faults.")


class SimPrinterConfig(BaseModel):
    """A simulated receipt printer: real ESC/POS bytes (python-escpos), kept in memory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sim"] = Field(description="Driver selector: the simulated receipt printer.")
    device_id: str = Field(default="sim-printer-0", description="Id shown in the device list.")
    paper_width_px: int = Field(
        default=576, ge=256, le=1024, description="Printable width in dots (576: 80 mm paper)."
    )
    fail: bool = Field(default=False, description="Every job fails as out of paper (for tests).")
