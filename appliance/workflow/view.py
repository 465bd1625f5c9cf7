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
    box: list[int] | None = None  # x, y, w, h of the fingertip in the slap image


@dataclass(frozen=True)
class SlapView:
    """One slap of the 4-4-2 sequence, as the screen shows it."""

    kind: str
    status: str  # pending | capturing | judging | done | skipped | failed
    event: str | None
    error: str | None
    positions: list[int]
    missing: list[int]
    accepted: bool
    attempts: int
    reason: str | None
    fingers: list[FingerView]
    nfiq2_threshold: int
    preview_sequence: int = 0  # grows with each live image the reader sends (memory only)
    image_size: list[int] | None = None  # width, height of the captured slap image


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
    #: The photo is kept and its MRZ is being read (in the background); ``mrz`` follows.
    reading: bool = False


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
class DeviceProblemView:
    """A device the current step needs that is not usable, and what the operator can do.

    ``action``: ``retry`` (the kiosk restarts the device itself; try again),
    ``reconnect`` (check the cable: a replugged device is reopened at once) or
    ``call_technician`` (restarts exhausted or device refused: only a technician's
    reset brings it back).
    """

    role: str
    state: str
    message_key: str
    action: str


@dataclass(frozen=True)
class DeliveryView:
    """The truth about a sealed enrolment: ``stored`` on the kiosk (sending) until
    central's signed receipt is in (``received``, with its id and time)."""

    state: str  # stored | received | quarantined | unknown
    receipt_id: str | None = None
    received_at: str | None = None


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
    operator_role: str | None = None
    paused: bool = False  # the operator logged out mid-enrolment: the next user decides
    has_captures: bool = False  # discarding needs a supervisor's PIN
    devices: list[DeviceProblemView] = field(default_factory=list)
    delivery: DeliveryView | None = None


@dataclass(frozen=True)
class ApplicantSlapView:
    kind: str
    status: str
    event: str | None
    fingers: list[int]  # positions to place, in slap order
    missing: list[int]
    accepted: list[int]  # positions whose quality passed


@dataclass(frozen=True)
class ApplicantView:
    """The applicant's own screen (``/applicant``): the step and its prompts, no more.

    No case reference, names, images or quality figures: only what the applicant
    reads on the kiosk's screen anyway, bound to the enrolment in progress.
    """

    step: str | None
    language: str
    face_prompts: list[str] = field(default_factory=list)
    face_captured: bool = False
    slaps: list[ApplicantSlapView] = field(default_factory=list)
    delivery: str | None = None  # stored | received
