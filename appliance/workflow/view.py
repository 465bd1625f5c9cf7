"""What the screens see of the workflow: typed, read-only snapshots.

These frozen dataclasses are the workflow's read model; the web layer returns
them as they are (FastAPI documents them in the OpenAPI schema). Nothing here
holds an image: captures are referred to by id and fetched one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from appliance.workflow.case_view import CaseView


@dataclass(frozen=True)
class ConsentView:
    given: bool
    language: str | None


@dataclass(frozen=True)
class FaceView:
    status: str  # live | captured
    capture_id: str | None
    auto: bool
    prompts: list[str]
    rejected: list[str]
    device_error: str | None
    compliant: bool | None = None
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FingerView:
    position: int
    nfiq2: int | None
    accepted: bool
    feedback: list[str]


@dataclass(frozen=True)
class SlapView:
    """One slap of the 4-4-2 sequence, as the screen shows it."""

    kind: str
    status: str  # pending | capturing | done | skipped | failed
    event: str | None
    error: str | None
    positions: list[int]
    missing: list[int]
    accepted: bool
    attempts: int
    reason: str | None
    fingers: list[FingerView]
    nfiq2_threshold: int


@dataclass(frozen=True)
class ExceptionView:
    position: int
    reason: str
    declared_by: str
    confirmed_by: str


@dataclass(frozen=True)
class FingersView:
    slaps: list[SlapView]
    exceptions: list[ExceptionView]
    problems: list[str]
    complete: bool


@dataclass(frozen=True)
class DocumentView:
    capture_id: str
    kind: str
    corrected: bool
    format: str | None


@dataclass(frozen=True)
class SealingView:
    """Background sealing after submit: ``sealing`` -> ``sealed`` (or ``failed``)."""

    state: str  # idle | sealing | sealed | failed
    error: str | None = None


@dataclass(frozen=True)
class WorkflowView:
    active: bool
    step: str | None
    language: str
    workflow_id: str | None = None
    case_reference: str | None = None
    case: CaseView | None = None
    operator: str | None = None
    notice: str | None = None
    problem: str | None = None
    completed: list[str] = field(default_factory=list)
    consent: ConsentView | None = None
    face: FaceView | None = None
    fingers: FingersView | None = None
    documents: list[DocumentView] = field(default_factory=list)
    receipt: dict[str, Any] | None = None
    sealing: SealingView = field(default_factory=lambda: SealingView("idle"))
    can_submit: bool = False
    provisioned: bool = False
