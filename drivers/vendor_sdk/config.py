"""Config model of the vendor SDK reader (light: imports neither ctypes nor numpy)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class VendorSdkReaderConfig(BaseModel):
    """A closed FAP-60 class reader whose vendor library implements the ``vsdk`` C ABI."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["vendor_sdk"] = Field(
        description="Driver selector: a reader behind a vendor library with the vsdk C ABI."
    )
    device_id: str = Field(default="vendor-sdk-0", description="Id shown in the device list.")
    library_path: Path = Field(
        description="Absolute path of the vendor's vsdk shared library (never searched for)."
    )
    device_index: int = Field(
        default=0, ge=0, le=63, description="Which device of the library to open (0-based)."
    )
    output_ppi: Literal[500, "native"] = Field(
        default=500,
        description="Resolution of delivered images: 500 resamples to the ANSI/NIST and "
        "NFIQ 2 standard; native keeps what the device returns.",
    )
    corrupt_retries: int = Field(
        default=2, ge=0, le=10, description="Re-captures after a failed image transfer."
    )

    @field_validator("library_path")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        if not path.is_absolute():
            raise ValueError("library_path must be absolute (libraries are never searched for)")
        return path
