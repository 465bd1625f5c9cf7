"""Config of the document-chip checks: the CSCA trust store, DG2 sealing, face match."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ChipConfig(BaseModel):
    """eMRTD chip reading and verification (passive authentication, face match)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    csca_dir: Path | None = Field(
        default=None,
        description="Folder of trusted CSCA certificates (PEM or DER, one or more per file).",
    )
    master_list: Path | None = Field(
        default=None,
        description="ICAO CSCA master list (CMS, .ml). Accepted only if its signature "
        "verifies and its signer was issued by a CSCA pinned in master_list_anchors.",
    )
    master_list_anchors: list[str] = Field(
        default_factory=list,
        description="SHA-256 fingerprints (hex) of the CSCA certificates allowed to issue "
        "the master list's signer; the CSCA may sit in csca_dir or in the list itself.",
    )
    crl_dir: Path | None = Field(
        default=None,
        description="Folder of CSCA CRLs (PEM or DER); each is used only if a trusted "
        "CSCA's signature verifies it. A revoked document signer fails passive authentication.",
    )
    seal_dg2: bool = Field(
        default=False,
        description="Seal the chip's DG2 portrait with the enrolment packet (only when "
        "central needs it); the verdicts and the match score are always sealed.",
    )
    face_match_threshold: float = Field(
        default=0.55,
        gt=0.0,
        lt=2.0,
        description="Largest dlib descriptor distance still called a match between DG2 and "
        "the live capture (set from bench/facematch.py: genuine max 0.49, impostor min 0.79).",
    )
    read_timeout_s: float = Field(
        default=15.0,
        gt=0.0,
        le=120.0,
        description="How long 'read chip' waits for the document to be placed on the reader.",
    )

    @model_validator(mode="after")
    def _anchored(self) -> ChipConfig:
        if self.master_list is not None and not self.master_list_anchors:
            raise ValueError(
                "master_list needs master_list_anchors (a self-signed list proves nothing)"
            )
        return self


class DocumentsConfig(BaseModel):
    """Identity documents presented at the counter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chip: ChipConfig = Field(default_factory=ChipConfig, description="Document chip checks.")
