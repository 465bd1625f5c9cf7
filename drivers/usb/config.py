"""Config models of the pyusb reader drivers (light: imports neither pyusb nor numpy)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Uru4000Config(BaseModel):
    """A DigitalPersona U.are.U 4000/4000B/4500 reader driven natively over pyusb."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["uru4000"] = Field(
        description="Driver selector: the native U.are.U 4000/4000B/4500 pyusb driver."
    )
    device_id: str = Field(default="uru4000-0", description="Id shown in the device list.")
    vid: int | None = Field(
        default=None, ge=0, le=0xFFFF, description="USB vendor id; none = any supported model."
    )
    pid: int | None = Field(
        default=None, ge=0, le=0xFFFF, description="USB product id; none = any supported model."
    )
    serial: str = Field(
        default="",
        description="USB serial number to bind to when several readers are attached; "
        "empty = the first one found.",
    )
    output_ppi: Literal[500, 512] = Field(
        default=500,
        description="Resolution of delivered images: 512 is the sensor's native "
        "resolution, 500 resamples to the ANSI/NIST and NFIQ 2 standard.",
    )
    transfer_timeout_ms: int = Field(
        default=5000, ge=100, le=60000, description="Timeout of control and image transfers."
    )
    irq_poll_ms: int = Field(
        default=100,
        ge=10,
        le=2000,
        description="Interrupt endpoint poll period; bounds how fast a cancel takes effect.",
    )
    lift_timeout_s: float = Field(
        default=10.0,
        ge=0.0,
        le=120.0,
        description="How long to wait for the finger to lift after a capture.",
    )
    frame_retries: int = Field(
        default=3, ge=0, le=10, description="Re-reads of a short, garbled or stalled frame."
    )
    emulated: bool = Field(
        default=False,
        description="Drive the built-in emulated U.are.U 4000B/4500 (drivers.usb.emulator) "
        "instead of the USB bus: the real driver code runs against a transfer-level "
        "emulation, for demos and test rigs without hardware.",
    )
