"""The enrolment workflow engine: one applicant at a time through the steps of :mod:`.state`.

The engine owns the lock, the persisted record (non-biometric, see :mod:`.state`)
and the transition table; each step lives in its own module (:mod:`.face_step`,
:mod:`.finger_step`, :mod:`.document_step`, :mod:`.submit_step`) and drives the
capture service, which holds the captures in memory. Every step change is
written to disk before it is acknowledged; captures never are. Background work
(auto-capture, slaps, sealing) runs in kept tasks whose failures are logged
and shown to the operator (``problem`` in the view).

One applicant at a time: an enrolment starts only when the devices it needs
are ready (:mod:`.readiness`) and, for a case this kiosk already enrolled,
only once the operator has seen the warning; "next applicant" resets the
language, the captures and the step state. An enrolment belongs to the operator
who started it; another user must take it over (same role) or discard it
(:mod:`.handover`). Operations are reported through one hook
(:mod:`.operations`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date

from appliance.capture.captures import Capture
from appliance.capture.service import CaptureService
from appliance.documents.mrz_compare import CaseData
from appliance.memory import release_free_memory
from appliance.outbox.case_key import CaseSeen
from appliance.tasks import BackgroundTasks
from appliance.workflow.applicant import applicant_view
from appliance.workflow.case_step import CaseStep, Override
from appliance.workflow.chip_step import CHIP_TASK, ChipStep
from appliance.workflow.document_step import DocumentStep
from appliance.workflow.face_step import FaceStep
from appliance.workflow.finger_step import FingerStep, SupervisorCheck
from appliance.workflow.handover import Handover
from appliance.workflow.operations import OnOperation, no_operation_log, report
from appliance.workflow.persist import WorkflowFile
from appliance.workflow.readiness import device_problems, roles_for
from appliance.workflow.state import (
    CANCELLABLE,
    CAPTURE_STEPS,
    FINISHED,
    LANGUAGES,
    NEXT_CAPTURE_STEP,
    Step,
    TransitionError,
    WorkflowRecord,
    check_transition,
)
from appliance.workflow.submit_step import SubmitStep
from appliance.workflow.view import (
    ApplicantView,
    ConsentView,
    DeliveryView,
    WorkflowView,
)

#: A case reference -> what this kiosk already did for it (None: nothing).
CaseLookup = Callable[[str], CaseSeen | None]

logger = logging.getLogger(__name__)


class WorkflowEngine:
    """One enrolment at a time on this kiosk (see the module docstring)."""

    def __init__(
        self,
        store: WorkflowFile,
        capture: CaptureService,
        *,
        confirm_supervisor: SupervisorCheck,
        nfiq2_threshold: int,
        site_id: str,
        kiosk_name: str,
        municipality: str = "",
        default_language: str = "pt-PT",
        on_operation: OnOperation = no_operation_log,
        case_step: CaseStep | None = None,
        case_lookup: CaseLookup | None = None,
    ) -> None:
        self._store = store
        self.capture = capture
        self.default_language = default_language  # the configured one, for each new applicant
        self.idle_language = default_language  # chosen before start; reset by next applicant
        self.on_operation = on_operation
        self._case_lookup = case_lookup
        self.lock = asyncio.Lock()
        self.tasks = BackgroundTasks(self._on_task_failure)
        self._record: WorkflowRecord | None = None
        self.problem: str | None = None
        self.face = FaceStep(self)
        self.fingers = FingerStep(self, confirm_supervisor, nfiq2_threshold)
        self.documents = DocumentStep(self, confirm_supervisor)
        self.chip = ChipStep(self, confirm_supervisor)
        self.submission = SubmitStep(self, site_id, kiosk_name, municipality)
        self.handover = Handover(self, confirm_supervisor)
        #: Case verification at start (fails closed without a case directory).
        self.case = case_step or CaseStep(None, confirm_supervisor)

    @property
    def record(self) -> WorkflowRecord | None:
        return self._record

    # ------------------------------------------------------------ lifecycle

    def recover(self) -> None:
        """Read the record left by the previous run and bring it to a safe step."""
        record = self._store.load()
        if record is None:
            return
        packet = record.packet_id
        record.recover(packet_in_outbox=bool(packet and self.capture.packet_known(packet)))
        if record.step is Step.DONE and record.receipt is None:
            record.receipt = self.submission.receipt(record, {})
        if record.step in (Step.CONSENT, Step.FACE):
            self.capture.begin()  # the captures were in memory: start them again
        self._record = record
        self._store.save(record)
        logger.info("workflow recovered at step %s", record.step.value)

    async def close(self) -> None:
        """Stop previews and background work; the in-memory captures are wiped."""
        await self.face.preview.close()
        await self.documents.preview.close()
        await self.fingers.stop()
        await self.tasks.cancel_all()
        self.capture.end()

    # ------------------------------------------------------------------ view

    def view(self) -> WorkflowView:
        record = self._record
        provisioned = self.capture.provisioned
        if record is None:
            return WorkflowView(
                active=False,
                step=None,
                language=self.idle_language,
                provisioned=provisioned,
                devices=device_problems(
                    self.capture.devices, roles_for(None, self.capture.devices)
                ),
            )
        return WorkflowView(
            active=True,
            step=record.step.value,
            language=record.language,
            workflow_id=record.workflow_id,
            case_reference=record.case_reference,
            case=self.case.view(record),
            operator=record.operator,
            notice=record.notice,
            problem=self.problem,
            completed=list(record.completed),
            consent=ConsentView(record.consent_at is not None, record.consent_language),
            face=self.face.view(),
            fingers=self.fingers.view(record),
            documents=list(self.documents.documents),
            chip=self.chip.state if self.chip.available else None,
            receipt=record.receipt,
            sealing=self.submission.sealing,
            can_submit=record.step is Step.REVIEW and provisioned,
            provisioned=provisioned,
            operator_role=record.operator_role,
            paused=record.paused,
            has_captures=self.has_captures,
            devices=device_problems(
                self.capture.devices, roles_for(record.step, self.capture.devices)
            ),
            delivery=self.delivery(record),
        )

    def applicant_view(self) -> ApplicantView:
        """What the applicant's own screen shows (see :mod:`.applicant`)."""
        return applicant_view(self)

    def delivery(self, record: WorkflowRecord) -> DeliveryView | None:
        if record.step is not Step.DONE or not record.packet_id:
            return None
        found = self.capture.delivery(record.packet_id)
        return DeliveryView(found.state, found.receipt_id, found.received_at)

    @property
    def has_captures(self) -> bool:
        """Anything of the applicant's is held (discarding it needs a supervisor)."""
        return self.capture.active and (
            self.face.captured
            or any(p.captured is not None for p in self.fingers.slaps.values())
            or bool(self.documents.documents)
        )

    def capture_for_review(self, capture_id: str) -> Capture | None:
        """A face or document capture of the current enrolment (memory only)."""
        if self._record is None:
            return None
        capture = self.capture.capture(capture_id)
        if capture is None or capture.item_type not in ("face", "document"):
            return None
        return capture

    # ----------------------------------------------------------------- steps

    async def start(
        self,
        case_reference: str,
        language: str,
        operator: str,
        role: str = "operator",
        *,
        identity_confirmed: bool = False,
        override: Override | None = None,
        acknowledge_duplicate: bool = False,
    ) -> None:
        """Start an enrolment on a verified case (:mod:`.case_step`): refused while a
        needed device is not ready, and for a case already enrolled here until the
        operator acknowledges the warning. The record carries the case's reference."""
        async with self.lock:
            if self._record is not None and self._record.step not in FINISHED:
                raise TransitionError("workflow.in_progress", "an enrolment is in progress")
            _check_language(language)
            problems = device_problems(self.capture.devices, roles_for(None, self.capture.devices))
            if problems:
                report(
                    self.on_operation,
                    "enrolment.device_refused",
                    operator=operator,
                    devices=[p.role for p in problems],
                )
                raise TransitionError(
                    "workflow.devices_not_ready",
                    "a device the enrolment needs is not ready",
                    devices=[asdict(p) for p in problems],
                )
            seen = await self._seen(case_reference)
            if seen is not None:
                report(
                    self.on_operation,
                    "enrolment.duplicate_warned",
                    workflow_id=None,
                    operator=operator,
                    case_reference=case_reference,
                    seen=seen.seen,
                    acknowledged=acknowledge_duplicate,
                )
                if not acknowledge_duplicate:
                    raise TransitionError(
                        f"case.already_{seen.seen}",
                        "this case was already enrolled on this kiosk",
                        seen=seen.seen,
                        at=seen.at,
                    )
            binding = await self.case.verify(
                case_reference, operator, identity_confirmed=identity_confirmed, override=override
            )
            bound = self.case.bound
            await self._end()
            self.case.bound = bound
            self.capture.begin()
            self._record = WorkflowRecord(
                case_reference=binding.case_reference,
                operator=operator,
                language=language,
                operator_role=role,
                case_check=binding.to_json(),
            )
            self.save()
            report(
                self.on_operation,
                "enrolment.started",
                workflow_id=self._record.workflow_id,
                operator=operator,
                language=language,
                case_reference=case_reference,
            )
            logger.info("enrolment %s started", self._record.workflow_id[:8])

    async def _seen(self, case_reference: str) -> CaseSeen | None:
        if self._case_lookup is None:
            return None
        return await asyncio.to_thread(self._case_lookup, case_reference)

    async def set_language(self, language: str) -> None:
        _check_language(language)
        async with self.lock:
            if self._record is None:
                self.idle_language = language  # this applicant only: reset at the next
                return
            self._record.language = language
            self.save()

    async def consent(self, accepted: bool, operator: str = "") -> None:
        """Consent given: on to the face. Refused: nothing is captured, the refusal is
        recorded and the enrolment ends on an acknowledgement (``declined``)."""
        async with self.lock:
            record = self.require(Step.CONSENT)
            event = "consent.given" if accepted else "consent.refused"
            target = Step.FACE if accepted else Step.DECLINED
            check_transition(record.step, target)
            if accepted:
                record.consent_at = time.time()
                record.consent_language = record.language
                record.complete(Step.CONSENT)
            else:
                self.capture.end()  # nothing was captured; nothing is kept
            record.step = target
            self.save()
            report(
                self.on_operation,
                event,
                workflow_id=record.workflow_id,
                operator=operator or record.operator,
                language=record.language,
            )

    def acknowledge_notice(self) -> None:
        if self._record is not None and self._record.notice is not None:
            self._record.notice = None
            self.save()
        self.problem = None

    async def goto(self, step: Step) -> None:
        """Go back to a capture step (from review or a later capture step)."""
        async with self.lock:
            record = self.require(*CAPTURE_STEPS, Step.REVIEW)
            if step not in CAPTURE_STEPS:
                raise TransitionError("workflow.bad_transition", "only capture steps")
            check_transition(record.step, step)
            record.step = step
            self.save()

    async def finish(self) -> None:
        """After the receipt (or an abort or refusal): idle, reset for the next applicant."""
        async with self.lock:
            self.require(*FINISHED)
            await self._end()

    async def cancel(self, operator: str = "") -> None:
        async with self.lock:
            record = self._record
            if record is None:
                return
            if record.step not in CANCELLABLE:
                raise TransitionError("workflow.not_cancellable", "sealing cannot be interrupted")
            report(
                self.on_operation,
                "enrolment.cancelled",
                workflow_id=record.workflow_id,
                operator=operator or record.operator,
                step=record.step.value,
                had_captures=self.has_captures,
            )
            await self._end()
            logger.info("enrolment cancelled; captures discarded")

    def check_owner(self, user: str) -> None:
        """Only the operator who has the enrolment acts on it (others: take over first)."""
        record = self._record
        if record is not None and record.operator != user:
            raise TransitionError(
                "workflow.other_operator", "another user's enrolment: resume or discard it first"
            )

    # --------------------------------------------------------------- context

    def require(self, *steps: Step) -> WorkflowRecord:
        if self._record is None:
            raise TransitionError("workflow.none", "no enrolment in progress")
        if steps and self._record.step not in steps:
            raise TransitionError(
                "workflow.wrong_step", f"the enrolment is at {self._record.step.value}"
            )
        return self._record

    def save(self) -> None:
        assert self._record is not None
        self._record.updated_at = time.time()
        self._store.save(self._record)

    def advance(self, record: WorkflowRecord, step: Step) -> None:
        check_transition(record.step, step)
        # Skip forward over capture steps already complete (after going back from review).
        while step in NEXT_CAPTURE_STEP and record.is_complete(step):
            step = NEXT_CAPTURE_STEP[step]
        record.step = step
        self.save()

    async def end_locked(self) -> None:
        """:meth:`_end` for the handover (the caller holds the lock)."""
        await self._end()

    async def _end(self) -> None:
        """Forget the enrolment: background work stopped, captures wiped, record removed,
        and the language back to the kiosk's default for the next applicant."""
        await self.fingers.stop()
        for name in ("face-auto-capture", CHIP_TASK):
            await self.tasks.cancel(name)
        await self.documents.stop()
        self.capture.end()
        self.face.reset()
        self.fingers.reset()
        self.documents.reset()
        self.chip.reset()
        self.submission.reset()
        self.case.reset()
        self.problem = None
        self.idle_language = self.default_language
        self._record = None
        self._store.clear()
        # Not awaited: the operator's next tap does not wait for the allocator. (At
        # exit the loop's executor may already be shut down: nothing to release then.)
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().run_in_executor(None, release_free_memory)

    def case_data(self) -> CaseData | None:
        """What the verified case says about the applicant, for the document checks."""
        check = self.case.bound
        case = check.case if check is not None else None
        if case is None:
            return None
        try:
            birth = date.fromisoformat(case.date_of_birth)
        except ValueError:  # a year or year-month only: not compared
            birth = None
        return CaseData(
            full_name=case.full_name,
            birth_date=birth,
            nationality=case.nationality or None,
            document_number=case.document_number or None,
        )

    async def finish_documents(self) -> None:
        """Documents done: none waits for a supervisor, and the chip check (if any) is settled."""
        await self.documents.finish(chip_ready=self.chip.ready)

    async def read_chip(self) -> None:
        """Read the chip of the document whose MRZ was read last."""
        await self.chip.read(await self.documents.latest_mrz_lines())

    def _on_task_failure(self, name: str, error: BaseException) -> None:
        """A background task failed unexpectedly: the operator sees it, the log has it."""
        self.problem = "workflow.background_failed"


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise TransitionError("workflow.bad_language", f"unsupported language {language!r}")
