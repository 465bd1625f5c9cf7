"""The request bodies of the workflow routes (:mod:`.workflow_routes`): strict, every
field described, the closed vocabularies (languages, document kinds, slaps) as literals
the OpenAPI schema states and FastAPI checks."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from appliance.capture.documents import DOCUMENT_KINDS
from appliance.workflow.case_step import OVERRIDE_REASONS
from appliance.workflow.state import LANGUAGES, Step

REFERENCE = Field(
    min_length=3,
    max_length=64,
    pattern=r"^[A-Za-z0-9/_.-]+$",
    description="Case reference, or appointment code (APT-...) from the QR slip.",
)


#: The applicant languages and document kinds, as the schema states them (and FastAPI checks).
Language = Literal["pt-PT", "en", "hi", "ne", "bn", "uk", "ur", "fr", "es", "ar"]
DocumentKind = Literal["passport", "residence_permit", "id_card", "other"]
#: The 4-4-2 flow captures slaps only.
SlapKind = Literal["slap_right_four", "slap_left_four", "slap_thumbs"]
assert get_args(Language) == LANGUAGES and get_args(DocumentKind) == DOCUMENT_KINDS


class OverrideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supervisor: str = Field(min_length=1, max_length=64, description="Supervisor account.")
    pin: str = Field(min_length=1, max_length=32, description="The supervisor's PIN.")
    reason: str = Field(
        pattern="^(" + "|".join(OVERRIDE_REASONS) + ")$", description="Why the case is overridden."
    )


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_reference: str = REFERENCE
    language: Language = Field(default="pt-PT", description="Applicant language.")
    identity_confirmed: bool = Field(
        default=False,
        description="The operator compared the case's data with the identity document presented.",
    )
    override: OverrideBody | None = Field(
        default=None,
        description="A supervisor's override for a case not found, for another site, closed or "
        "not verifiable.",
    )
    acknowledge_duplicate: bool = Field(
        default=False,
        description="The operator saw the warning that this case was already enrolled here.",
    )


class CaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = REFERENCE


class LanguageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language = Field(description="One of the applicant languages.")


class ConsentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accepted: bool = Field(description="The applicant consents (false cancels).")


class ScanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(default=6.0, gt=0, le=30, description="Give up after this long.")


class MissingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: int = Field(ge=1, le=10, description="FGP code of the missing finger.")
    reason: str = Field(pattern="^(XX|UP)$", description="XX amputated, UP unable to print.")
    supervisor: str = Field(min_length=1, max_length=64, description="Supervisor account.")
    pin: str = Field(min_length=1, max_length=32, description="The supervisor's PIN.")


class DocumentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: DocumentKind = Field(description="passport, residence_permit, id_card or other.")


class SupervisorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supervisor: str = Field(min_length=1, max_length=64, description="Supervisor account.")
    pin: str = Field(min_length=1, max_length=32, description="The supervisor's PIN.")
    reason: str = Field(min_length=1, max_length=200, description="Why, for the record.")


class ChipDecisionBody(SupervisorBody):
    accepted: bool = Field(description="Continue with this document (true) or not (false).")


class DiscardBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supervisor: str | None = Field(
        default=None, max_length=64, description="Supervisor account (when captures exist)."
    )
    pin: str | None = Field(default=None, max_length=32, description="The supervisor's PIN.")


class GotoBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: Step = Field(description="A capture step to go back to.")
