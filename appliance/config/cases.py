"""Case verification: how long to wait for central, how often to pull the day list."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CasesConfig(BaseModel):
    """Case lookup, check-in and the day's signed appointment list (appliance.cases)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lookup_timeout_s: float = Field(
        default=3.0,
        gt=0,
        le=30,
        description="How long a case lookup waits for central before answering from "
        "the day's signed appointment list.",
    )
    day_list_refresh_s: float = Field(
        default=900.0,
        ge=60,
        le=86400,
        description="Pull the day's appointment list again this often (it is also pulled "
        "at start and right after midnight, site time zone).",
    )
    checkin_retry_max_s: float = Field(
        default=300.0,
        ge=1,
        le=3600,
        description="Longest wait between attempts to send check-ins queued while "
        "central was unreachable (exponential backoff with jitter up to this).",
    )
    verification_max_age_s: float = Field(
        default=600.0,
        ge=30,
        le=3600,
        description="A lookup shown to the operator may start an enrolment for this long; "
        "after that the case is looked up again.",
    )
