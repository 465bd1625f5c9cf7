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
class MrzView:
    """The machine-readable zone as read: verdict, failed checks and the parsed fields."""

    verdict: str  # valid | check_digit | expired | unreadable
    failed_checks: list[str]
    confidence: float
    fields: dict[str, Any] | None  # the doc-check ``mrz`` object; None when unreadable
    reason: str = ""  # why unreadable: no_mrz, low_confidence, bad_layout


@dataclass(frozen=True)
class MismatchView:
    """Where the document disagrees with the case (field, what the MRZ says, what the case says)."""

    field: str
    mrz: str
    case: str


@dataclass(frozen=True)
class SupervisorDecisionView:
    confirmed_by: str
    reason: str
    accepted: bool = True


@dataclass(frozen=True)
class DocumentView:
    capture_id: str
    kind: str
    corrected: bool
    format: str | None
    mrz: MrzView | None = None
    mismatches: list[MismatchView] = field(default_factory=list)
    #: A failed check digit, an expired document or a mismatch with the case: "continue"
    #: waits for a supervisor's confirmation (``override``).
    blocking: bool = False
    override: SupervisorDecisionView | None = None


@dataclass(frozen=True)
class ChipView:
    """The document chip: reading state, authenticity verdicts and the 1:1 face match."""

    state: str  # idle | reading | done | failed
    error: str | None = None
    pa: str | None = None  # passed | failed (passive authentication)
    pa_reason: str | None = None
    active_auth: str | None = None
    chip_auth: str | None = None
    dg1_matches_mrz: bool | None = None
    match: str | None = None  # match | no_match; None: not compared
    distance: float | None = None
    threshold: float | None = None
    match_error: str | None = None
    needs_decision: bool = False
    decision: SupervisorDecisionView | None = None
    portrait: bool = False  # the chip's portrait can be shown beside the live capture


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
    chip: ChipView | None = None
    receipt: dict[str, Any] | None = None
    sealing: SealingView = field(default_factory=lambda: SealingView("idle"))
    can_submit: bool = False
    provisioned: bool = False
