"""Config of the ESC/POS receipt printer (light: python-escpos is not imported here)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EscposPrinterConfig(BaseModel):
    """An ESC/POS thermal receipt printer (python-escpos), on USB, the network or a
    character device (``/dev/usb/lp0``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["escpos"] = Field(description="Driver selector: an ESC/POS thermal printer.")
    device_id: str = Field(default="receipt-printer-0", description="Id shown in the device list.")
    connection: Literal["usb", "network", "file"] = Field(
        description="How the printer is reached: usb (vendor/product ids), network (host, "
        "port 9100) or file (a character device such as /dev/usb/lp0)."
    )
    usb_vendor: int | None = Field(default=None, description="USB vendor id (connection usb).")
    usb_product: int | None = Field(default=None, description="USB product id (connection usb).")
    host: str | None = Field(default=None, description="Printer address (connection network).")
    port: int = Field(default=9100, ge=1, le=65535, description="TCP port (connection network).")
    device: str | None = Field(
        default=None, description="Character device path (connection file), e.g. /dev/usb/lp0."
    )
    paper_width_px: int = Field(
        default=576,
        ge=256,
        le=1024,
        description="Printable width in dots: 576 for 80 mm paper at 203 dpi, 384 for 58 mm.",
    )
    timeout_s: float = Field(
        default=10.0, gt=0, le=60, description="Give up on a print job after this long."
    )
