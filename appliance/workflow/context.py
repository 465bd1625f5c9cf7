"""What a workflow step sees of the engine that drives it."""

from __future__ import annotations

import asyncio
from typing import Protocol

from appliance.capture.service import CaptureService
from appliance.tasks import BackgroundTasks
from appliance.workflow.operations import OnOperation
from appliance.workflow.state import Step, WorkflowRecord


class WorkflowContext(Protocol):
    capture: CaptureService
    tasks: BackgroundTasks
    lock: asyncio.Lock
    on_operation: OnOperation

    @property
    def record(self) -> WorkflowRecord | None: ...

    def require(self, *steps: Step) -> WorkflowRecord:
        """The record, when the enrolment is at one of ``steps`` (TransitionError if not)."""

    def save(self) -> None:
        """Write the record to disk (atomically) before acknowledging a change."""

    def advance(self, record: WorkflowRecord, step: Step) -> None:
        """Go to ``step`` (skipping capture steps already complete) and save."""
