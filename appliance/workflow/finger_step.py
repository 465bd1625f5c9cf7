"""The fingerprint step: the 4-4-2 slaps in the background, missing fingers, finishing.

Each slap is captured by a kept background task (its progress and reader
events show in the view). Once the reader has a slap's image, the slap is
``judging`` and the reader is free: the next slap can start while the applicant
moves to it. A rejected attempt is taken again at once only if no other slap
started meanwhile; otherwise the slap ends with its best attempt and the
operator retakes it. The capture service WSQ-encodes each slap as soon as it is
judged. When every slap is done the sequence check (wrong hand, same hand twice)
runs in the background too, so "continue" only assembles the records. A
missing finger is recorded only with a supervisor's PIN, checked here, by
another person than the operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from appliance.capture.errors import CaptureError
from appliance.capture.fingers import FINGER_ITEM_TYPES, RECORD_NAMES, CapturedSlap
from appliance.finger.flow import SEQUENCE
from appliance.finger.records import MissingFinger
from appliance.workflow.context import WorkflowContext
from appliance.workflow.operations import report
from appliance.workflow.state import MissingFingerRecord, Step, TransitionError, WorkflowRecord
from appliance.workflow.view import (
    ApplicantSlapView,
    ExceptionView,
    FingersView,
    FingerView,
    SlapView,
)
from drivers.interfaces import SLAP_LAYOUT, CaptureKind, FingerPosition, ImageU8, ReaderEvent

logger = logging.getLogger(__name__)

#: Checks a supervisor's PIN: (supervisor, pin, operator) -> the supervisor's account name.
SupervisorCheck = Callable[[str, str, str], Awaitable[str]]
SEQUENCE_TASK = "finger-sequence-check"


@dataclass
class SlapProgress:
    kind: CaptureKind
    status: str = "pending"  # pending | capturing | judging | done | skipped | failed
    event: str | None = None
    error: str | None = None
    captured: CapturedSlap | None = None
    preview: ImageU8 | None = None  # the reader's latest live image (memory only)
    preview_sequence: int = 0

    @property
    def accepted(self) -> bool:
        return self.captured is not None and self.captured.result.accepted


class FingerStep:
    def __init__(
        self, ctx: WorkflowContext, confirm_supervisor: SupervisorCheck, nfiq2_threshold: int
    ) -> None:
        self._ctx = ctx
        self._confirm = confirm_supervisor
        self._threshold = nfiq2_threshold
        self.slaps: dict[CaptureKind, SlapProgress] = {}
        self.problems: list[str] = []
        self._records_added = False
        self.started = 0  # slap captures started: a rejected slap retakes only if unchanged
        self.reset()

    def reset(self) -> None:
        self.slaps = {kind: SlapProgress(kind) for kind in SEQUENCE}
        self.problems = []
        self._records_added = False

    async def stop(self) -> None:
        """Cancel running slap captures (cancel, restart, shutdown)."""
        running = [k for k in SEQUENCE if self._ctx.tasks.running(slap_task_name(k))]
        if running:
            try:
                reader = self._ctx.capture.devices.reader()
                await reader.cancel()
            except Exception:  # the reader may be gone: the tasks end anyway
                logger.debug("reader cancel failed", exc_info=True)
        for kind in running:
            await self._ctx.tasks.cancel(slap_task_name(kind))
        await self._ctx.tasks.cancel(SEQUENCE_TASK)

    # ------------------------------------------------------------------ view

    def complete(self) -> bool:
        return all(p.status == "skipped" or p.accepted for p in self.slaps.values())

    def view(self, record: WorkflowRecord) -> FingersView:
        missing = {m.position for m in record.missing_fingers}
        return FingersView(
            slaps=[self._slap_view(self.slaps[k], missing) for k in SEQUENCE],
            exceptions=[
                ExceptionView(m.position, m.reason, m.declared_by, m.confirmed_by)
                for m in record.missing_fingers
            ],
            problems=list(self.problems),
            complete=self.complete(),
        )

    def applicant_view(self, record: WorkflowRecord) -> list[ApplicantSlapView]:
        missing = {m.position for m in record.missing_fingers}
        views = []
        for kind in SEQUENCE:
            progress = self.slaps[kind]
            layout = [int(p) for p in SLAP_LAYOUT[kind][1]]
            result = progress.captured.result if progress.captured else None
            passed = [int(p) for p, _, a in (result.fingers if result else []) if a.accepted]
            views.append(
                ApplicantSlapView(
                    kind.value,
                    progress.status,
                    progress.event,
                    layout,
                    [p for p in layout if p in missing],
                    passed,
                )
            )
        return views

    def preview_image(self) -> tuple[int, ImageU8] | None:
        """The live image of the slap being captured: (sequence, grey image), memory only."""
        for progress in self.slaps.values():
            if progress.status == "capturing" and progress.preview is not None:
                return progress.preview_sequence, progress.preview
        return None

    def slap_image(self, kind: CaptureKind) -> ImageU8 | None:
        """The captured slap (grey, memory only), for the screen with its boxes."""
        progress = self.slaps.get(kind)
        if progress is None or progress.captured is None:
            return None
        return progress.captured.result.pixels

    def _slap_view(self, progress: SlapProgress, missing: set[int]) -> SlapView:
        result = progress.captured.result if progress.captured else None
        layout = [int(p) for p in SLAP_LAYOUT[progress.kind][1]]
        boxes = (
            {int(f.position): list(f.box) for f in result.segmentation.fingers} if result else {}
        )
        return SlapView(
            kind=progress.kind.value,
            status=progress.status,
            event=progress.event,
            error=progress.error,
            positions=layout,
            missing=[p for p in layout if p in missing],
            accepted=progress.accepted,
            attempts=result.attempts if result else 0,
            reason=result.segmentation.reason if result else None,
            fingers=[
                FingerView(int(p), a.nfiq2, a.accepted, list(a.feedback), boxes.get(int(p)))
                for p, _, a in (result.fingers if result else [])
            ],
            nfiq2_threshold=self._threshold,
            preview_sequence=progress.preview_sequence,
            image_size=[int(result.pixels.shape[1]), int(result.pixels.shape[0])]
            if result
            else None,
        )

    # -------------------------------------------------------------- capture

    async def capture_slap(self, kind: CaptureKind) -> None:
        """Start capturing one slap in the background; progress shows in the view."""
        async with self._ctx.lock:
            record = self._ctx.require(Step.FINGERPRINTS)
            progress = self.slaps[kind]
            if progress.status in ("capturing", "judging"):
                raise TransitionError("finger.capture_running", "this slap is being captured")
            if any(p.status == "capturing" for p in self.slaps.values()):
                raise TransitionError("finger.reader_busy", "another slap is being captured")
            missing = {m.position for m in record.missing_fingers}
            present = [p for p in SLAP_LAYOUT[kind][1] if int(p) not in missing]
            self._invalidate(record)
            if not present:
                progress.status, progress.captured, progress.error = "skipped", None, None
                return
            progress.status, progress.error, progress.event = "capturing", None, "finger.place"
            progress.captured = None
            self.started += 1
            # The slap's earlier capture may still be encoding: it is replaced, so it goes.
            await self._ctx.tasks.cancel(slap_task_name(kind))
            self._ctx.tasks.start(
                slap_task_name(kind),
                self._run_slap(progress, frozenset(FingerPosition(p) for p in missing)),
            )

    async def _run_slap(self, progress: SlapProgress, missing: frozenset[FingerPosition]) -> None:
        def on_event(event: ReaderEvent) -> None:
            if event.preview is not None:
                progress.preview = event.preview
                progress.preview_sequence += 1
                return
            progress.event = event.message_key

        try:
            captured = await self._ctx.capture.capture_slap(
                progress.kind, missing, on_event, _SlapTurn(self, progress)
            )
        except CaptureError as exc:
            progress.status, progress.error, progress.event = "failed", exc.code, None
            return
        except asyncio.CancelledError:
            progress.status, progress.error, progress.event = "pending", None, None
            raise
        except Exception:
            progress.status, progress.error, progress.event = "failed", "finger.failed", None
            raise  # logged and shown by the engine's background-task handler
        finally:
            progress.preview = None  # the live image goes as soon as the capture ends
        progress.captured, progress.status, progress.event = captured, "done", None
        if not captured.result.accepted:
            progress.error = "finger.quality_too_low"
        if self.complete():
            self._ctx.tasks.start(SEQUENCE_TASK, self._check_sequence())
        # The verdict is out; the WSQ images are made while the applicant moves on.
        encoded = await self._ctx.capture.fingers.encode(captured)
        if progress.captured is captured:  # not replaced or reset meanwhile
            progress.captured = encoded

    async def _check_sequence(self) -> None:
        slaps = {k: p.captured for k, p in self.slaps.items() if p.captured is not None}
        self.problems = await self._ctx.capture.fingers.sequence_problems(slaps)

    # ------------------------------------------------------- missing fingers

    async def declare_missing(
        self, position: int, reason: str, operator: str, supervisor: str, pin: str
    ) -> None:
        """Record a missing finger, confirmed by another person's supervisor PIN."""
        if not 1 <= position <= 10:
            raise TransitionError("finger.bad_position", "a finger position is 1-10")
        try:
            MissingFinger(FingerPosition(position), reason)
        except ValueError as exc:
            raise TransitionError("finger.bad_reason", str(exc)) from None
        confirmed_by = await self._confirm(supervisor, pin, operator)
        async with self._ctx.lock:
            record = self._ctx.require(Step.FINGERPRINTS)
            record.missing_fingers = [m for m in record.missing_fingers if m.position != position]
            record.missing_fingers.append(
                MissingFingerRecord(position, reason, operator, confirmed_by, time.time())
            )
            self._reset_slap_with(record, position)
            self._ctx.save()
            report(
                self._ctx.on_operation,
                "exception.confirmed",
                workflow_id=record.workflow_id,
                kind="missing_finger",
                position=position,
                reason=reason,
                declared_by=operator,
                confirmed_by=confirmed_by,
            )
            logger.info("missing-finger exception recorded with supervisor confirmation")

    async def remove_missing(self, position: int) -> None:
        async with self._ctx.lock:
            record = self._ctx.require(Step.FINGERPRINTS)
            record.missing_fingers = [m for m in record.missing_fingers if m.position != position]
            self._reset_slap_with(record, position)
            self._ctx.save()

    def _reset_slap_with(self, record: WorkflowRecord, position: int) -> None:
        for kind, (_, layout) in SLAP_LAYOUT.items():
            if kind in self.slaps and position in [int(p) for p in layout]:
                self.slaps[kind] = SlapProgress(kind)
        self._invalidate(record)

    # ---------------------------------------------------------------- finish

    async def finish(self) -> None:
        """Every slap accepted and the sequence check passed: add the records, go on."""
        async with self._ctx.lock:
            record = self._ctx.require(Step.FINGERPRINTS)
            if not self.complete():
                raise TransitionError("finger.incomplete", "capture every slap first")
            check = self._ctx.tasks.task(SEQUENCE_TASK)
            if check is not None:
                await asyncio.shield(check)
            await self._encoded()
            if self.problems:
                raise TransitionError(self.problems[0].split(":")[0], "sequence check failed")
            if not self._records_added:
                missing = [
                    MissingFinger(FingerPosition(m.position), m.reason)
                    for m in record.missing_fingers
                ]
                slaps = [p.captured for p in self.slaps.values() if p.captured is not None]
                try:
                    await self._ctx.capture.add_finger_records(slaps, missing)
                except CaptureError as exc:
                    raise TransitionError(exc.code, str(exc)) from None
                self._records_added = True
            record.complete(Step.FINGERPRINTS)
            self._ctx.advance(record, Step.DOCUMENTS)

    async def _encoded(self) -> None:
        """Wait for the slaps still encoding (the records encode any that failed)."""
        for kind in SEQUENCE:
            task = self._ctx.tasks.task(slap_task_name(kind))
            if task is not None and not task.done():
                with contextlib.suppress(Exception):
                    await asyncio.shield(task)

    def _invalidate(self, record: WorkflowRecord) -> None:
        """A slap or exception changed: the records built from the old ones go."""
        self.problems = []
        if self._records_added:
            if self._ctx.capture.active:
                self._ctx.capture.current.drop_where(
                    item_types=FINGER_ITEM_TYPES, names=RECORD_NAMES
                )
            self._records_added = False
        if Step.FINGERPRINTS.value in record.completed:
            record.completed.remove(Step.FINGERPRINTS.value)


class _SlapTurn:
    """One slap's share of the reader (:class:`appliance.finger.flow.ReaderTurn`)."""

    def __init__(self, step: FingerStep, progress: SlapProgress) -> None:
        self._step = step
        self._progress = progress
        self._released_at = -1

    def judging(self) -> None:
        progress = self._progress
        progress.status, progress.event, progress.preview = "judging", None, None
        self._released_at = self._step.started

    def retake(self) -> bool:
        progress = self._progress
        if self._step.slaps.get(progress.kind) is not progress:
            return False  # reset meanwhile (a missing finger changed the slap)
        if self._released_at >= 0 and self._step.started != self._released_at:
            return False  # another slap took the reader: the operator retakes this one
        progress.status, progress.event = "capturing", "finger.place"
        return True


def slap_task_name(kind: CaptureKind) -> str:
    return f"slap-{kind.value}"
