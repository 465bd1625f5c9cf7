"""The enrolment workflow as an explicit state machine, and its persisted record.

::

    (idle) --start--> consent --consent--> face --accept--> fingerprints --done-->
    documents --done--> review --submit--> submitting --sealed--> done --finish--> (idle)

    consent --refuse--> declined --finish--> (idle)   nothing captured, refusal recorded

    any capture step --cancel--> (idle)   captures wiped, nothing sent
    review --goto--> face | fingerprints | documents   (retake before submitting)

The record written to disk (:class:`WorkflowRecord`) holds only
non-biometric facts: the case reference, the applicant's language, the
consent, which steps are complete, the declared missing fingers, the packet
id once sealing starts, and the receipt. Captures live in memory only, so
after a crash or reboot the workflow resumes at a safe step (the face step,
consent kept) or, if it was sealing, finds out from the outbox whether the
packet made it (then ``done``) or cleanly aborts (nothing half-sent: the
outbox adds a packet atomically).
"""

from __future__ import annotations

import enum
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

RECORD_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 2 adds operator_role and paused

LANGUAGES = ("pt-PT", "en", "hi", "ne", "bn", "uk", "ur", "fr", "es", "ar")


class Step(enum.StrEnum):
    CONSENT = "consent"
    FACE = "face"
    FINGERPRINTS = "fingerprints"
    DOCUMENTS = "documents"
    REVIEW = "review"
    SUBMITTING = "submitting"
    DONE = "done"
    ABORTED = "aborted"  # interrupted while sealing and nothing reached the outbox
    DECLINED = "declined"  # the applicant refused consent: nothing captured


#: The capture steps in order; ``review`` may jump back to any of them.
CAPTURE_STEPS = (Step.FACE, Step.FINGERPRINTS, Step.DOCUMENTS)

#: Allowed transitions (from -> to). Anything else is refused with 409.
TRANSITIONS: dict[Step, frozenset[Step]] = {
    Step.CONSENT: frozenset({Step.FACE, Step.DECLINED}),
    Step.FACE: frozenset({Step.FINGERPRINTS}),
    Step.FINGERPRINTS: frozenset({Step.DOCUMENTS, Step.FACE}),
    Step.DOCUMENTS: frozenset({Step.REVIEW, Step.FACE, Step.FINGERPRINTS}),
    Step.REVIEW: frozenset({Step.SUBMITTING, *CAPTURE_STEPS}),
    Step.SUBMITTING: frozenset({Step.DONE, Step.ABORTED}),
    Step.DONE: frozenset(),
    Step.ABORTED: frozenset(),
    Step.DECLINED: frozenset(),
}

#: Steps after which only "next applicant" (finish) remains.
FINISHED = frozenset({Step.DONE, Step.ABORTED, Step.DECLINED})

#: The capture step after each one (review follows the last).
NEXT_CAPTURE_STEP: dict[Step, Step] = {
    Step.FACE: Step.FINGERPRINTS,
    Step.FINGERPRINTS: Step.DOCUMENTS,
    Step.DOCUMENTS: Step.REVIEW,
}

#: Steps from which cancelling is allowed (sealing cannot be interrupted halfway).
CANCELLABLE = frozenset({Step.CONSENT, *CAPTURE_STEPS, Step.REVIEW})


class TransitionError(Exception):
    """The workflow cannot do that from where it is; ``code`` is the message key.

    ``extra`` carries figures the operator's message needs (e.g. ``retry_after_s``).
    """

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.extra = extra


def check_transition(current: Step, target: Step) -> None:
    if target not in TRANSITIONS[current]:
        raise TransitionError(
            "workflow.bad_transition", f"cannot go from {current.value} to {target.value}"
        )


@dataclass
class MissingFingerRecord:
    """A declared missing finger, confirmed by a supervisor (no biometric data)."""

    position: int
    reason: str  # XX amputated, UP unable to print
    declared_by: str
    confirmed_by: str
    confirmed_at: float


@dataclass
class WorkflowRecord:
    """Everything about one enrolment that may touch the disk."""

    case_reference: str
    operator: str
    language: str
    workflow_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    step: Step = Step.CONSENT
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    consent_at: float | None = None
    consent_language: str | None = None
    completed: list[str] = field(default_factory=list)
    missing_fingers: list[MissingFingerRecord] = field(default_factory=list)
    capture_session_id: str | None = None
    packet_id: str | None = None
    receipt: dict[str, Any] | None = None
    notice: str | None = None  # message key shown once to the operator (after a restart)
    #: The case verification the enrolment started on (workflow.case_view.CaseBinding:
    #: references, outcome, source, check-in id, override; never the applicant's data).
    case_check: dict[str, Any] | None = None
    operator_role: str = "operator"  # who may resume it: a user of the same role
    paused: bool = False  # the operator logged out mid-enrolment

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["step"] = self.step.value
        data["version"] = RECORD_VERSION
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkflowRecord:
        if data.get("version") not in READABLE_VERSIONS:
            raise ValueError(f"unsupported workflow record version {data.get('version')!r}")
        fields = {k: v for k, v in data.items() if k != "version"}
        fields["step"] = Step(fields["step"])
        fields["missing_fingers"] = [MissingFingerRecord(**m) for m in fields["missing_fingers"]]
        return cls(**fields)

    def complete(self, step: Step) -> None:
        if step.value not in self.completed:
            self.completed.append(step.value)

    def is_complete(self, step: Step) -> bool:
        return step.value in self.completed

    def recover(self, packet_in_outbox: bool) -> None:
        """Bring a record read after a restart to a safe step (captures were in memory)."""
        self.capture_session_id = None
        if self.step is Step.SUBMITTING:
            if packet_in_outbox:
                self.step = Step.DONE
                self.notice = "workflow.recovered_submitted"
            else:
                self.step = Step.ABORTED
                self.notice = "workflow.aborted_after_restart"
        elif self.step in (*CAPTURE_STEPS, Step.REVIEW):
            self.step = Step.FACE
            self.completed = []
            self.missing_fingers = []
            self.notice = "workflow.resumed_after_restart"
        self.updated_at = time.time()
