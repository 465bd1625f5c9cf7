"""Config models of the MOSIP SBI drivers (light: imports neither numpy nor cryptography)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The port range the SBI specification reserves for device services (0.9.5 and 1.0).
SBI_FIRST_PORT = 4501
SBI_LAST_PORT = 4600

SpecVersion = Literal["auto", "0.9.5", "1.0"]


class SbiConnectionConfig(BaseModel):
    """How to find, talk to and trust one SBI device service on this host."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of the device service; none = discover it in port_first..port_last.",
    )
    port_first: int = Field(
        default=SBI_FIRST_PORT, ge=1, le=65535, description="First port probed by discovery."
    )
    port_last: int = Field(
        default=SBI_LAST_PORT, ge=1, le=65535, description="Last port probed by discovery."
    )
    discovery_concurrency: int = Field(
        default=16, ge=1, le=100, description="Ports probed at the same time during discovery."
    )
    probe_timeout_s: float = Field(
        default=0.5, gt=0, le=10, description="How long one port may take to answer MOSIPDISC."
    )
    request_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="Timeout of MOSIPDINFO and of the stream start."
    )
    serial: str = Field(
        default="",
        description="Serial number of the device to bind to when a service offers several; "
        "empty = the first ready device of the right type.",
    )
    spec_version: SpecVersion = Field(
        default="auto",
        description="SBI specification version to speak; auto = the newest both sides support.",
    )
    trust_anchors: list[Path] = Field(
        min_length=1,
        description="PEM files with the CA certificates that device certificates must chain to.",
    )
    max_clock_skew_s: float = Field(
        default=300.0,
        gt=0,
        le=3600,
        description="Largest accepted difference between a signed payload's timestamp and now.",
    )
    env: Literal["Staging", "Developer", "Pre-Production", "Production"] = Field(
        default="Production", description="Target environment sent in capture requests."
    )

    @model_validator(mode="after")
    def _port_range_is_ordered(self) -> SbiConnectionConfig:
        if self.port_first > self.port_last:
            raise ValueError("port_first must not be greater than port_last")
        return self


class SbiReaderConfig(SbiConnectionConfig):
    """A fingerprint device (slap or single) behind a MOSIP SBI 0.9.5 / 1.0 service."""

    type: Literal["sbi"] = Field(description="Driver selector: a MOSIP SBI finger device.")
    device_id: str = Field(default="sbi-reader-0", description="Id shown in the device list.")
    requested_score: int = Field(
        default=40,
        ge=0,
        le=100,
        description="Quality (0-100, NFIQ 2 scale) at which the device may auto-capture.",
    )


class SbiCameraConfig(SbiConnectionConfig):
    """A face camera behind a MOSIP SBI 0.9.5 / 1.0 service (STREAM preview, RCAPTURE still)."""

    type: Literal["sbi"] = Field(description="Driver selector: a MOSIP SBI face device.")
    device_id: str = Field(default="sbi-camera-0", description="Id shown in the device list.")
    stream_timeout_s: float = Field(
        default=300.0,
        gt=0,
        le=3600,
        description="Timeout the device service applies to one STREAM (spec default 5 min).",
    )
    capture_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="Timeout of an RCAPTURE of the face still."
    )
