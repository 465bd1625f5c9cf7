"""The applicant's own screen (``/applicant``): the step and its prompts, nothing personal.

Public and read-only: it carries no case reference, operator or applicant name,
image or quality figure, only what the applicant reads on the kiosk's screen
anyway. A paused enrolment (its operator logged out) shows as idle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from appliance.workflow.state import Step
from appliance.workflow.view import ApplicantView

if TYPE_CHECKING:
    from appliance.workflow.engine import WorkflowEngine


def applicant_view(engine: WorkflowEngine) -> ApplicantView:
    record = engine.record
    if record is None or record.paused:
        return ApplicantView(step=None, language=engine.idle_language)
    delivery = engine.delivery(record)
    face = engine.face.view() if record.step is Step.FACE else None
    return ApplicantView(
        step=record.step.value,
        language=record.language,
        face_prompts=list(face.prompts) if face else [],
        face_captured=engine.face.captured,
        slaps=engine.fingers.applicant_view(record) if record.step is Step.FINGERPRINTS else [],
        delivery=delivery.state if delivery else None,
    )
