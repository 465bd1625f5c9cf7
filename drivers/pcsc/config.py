"""Config of the PC/SC document reader (light: pyscard is not imported here)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PcscReaderConfig(BaseModel):
    """A contactless document reader reached through pcscd (PC/SC)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["pcsc"] = Field(description="Driver selector: a PC/SC contactless reader.")
    device_id: str = Field(default="document-reader-0", description="Id shown in the device list.")
    reader_name: str = Field(
        default="",
        max_length=128,
        description="Use the first PC/SC reader whose name contains this text "
        "(e.g. 'PICC' for the contactless slot of an ACR1252U); empty: the first reader.",
    )
    extended_length: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Extended-length APDUs: 'auto' uses them when the card's ATR announces "
        "them and the reader's buffer takes them; 'on'/'off' force the choice.",
    )
    allow_virtual: bool = Field(
        default=False,
        description="Accept vsmartcard's 'Virtual PCD' readers (tests and demo only; the "
        "production profile refuses it).",
    )
