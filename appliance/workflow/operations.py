"""The workflow's one hook for the record of operations, and the names of its events.

The composition root injects ``on_operation(event, details)``; the default does
nothing. The tamper-evident record of operations (:mod:`appliance.audit`) plugs in here. The
details never carry biometric data, and the case reference only as the keyed
hash the outbox stores (``case_digest``), never in clear.

Every event the workflow reports, in one place:

==============================  ====================================================
event                           details
==============================  ====================================================
``enrolment.started``           workflow_id, operator, language, case_digest
``enrolment.device_refused``    operator, devices (roles not ready)
``enrolment.duplicate_warned``  workflow_id, operator, case_digest, seen (today |
                                delivered), acknowledged (bool)
``consent.given``               workflow_id, operator, language
``consent.refused``             workflow_id, operator, language (nothing captured,
                                nothing kept)
``enrolment.cancelled``         workflow_id, operator, step, had_captures
``enrolment.paused``            workflow_id, operator, step (logout mid-enrolment)
``enrolment.taken_over``        workflow_id, operator (new), previous (old), step
``enrolment.discarded``         workflow_id, operator, previous, step, had_captures,
                                confirmed_by (supervisor, or null)
``enrolment.submitted``         workflow_id, operator, packet_id
``receipt.printed``             workflow_id, operator, packet_id, printer
``exception.confirmed``         workflow_id, kind (missing_finger), position, reason,
                                declared_by, confirmed_by (the supervisor)
``document.checked``            workflow_id, kind, verdict, failed, mismatches
``document.override``           workflow_id, operator, confirmed_by, reason, verdict,
                                mismatches
``chip.read``                   workflow_id, the chip's verdicts and the face-match
                                decision (see :mod:`appliance.audit.events`)
``chip.decision``               workflow_id, operator, confirmed_by, accepted, reason
==============================  ====================================================

Capture attempts and seals are reported by the capture service through the same
hook; :mod:`appliance.audit.events` is the catalogue of every field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

#: (event, details) -> None; must not raise (a failure is logged, the workflow goes on).
OnOperation = Callable[[str, dict[str, Any]], None]

EVENTS = frozenset(
    {
        "enrolment.started",
        "enrolment.device_refused",
        "enrolment.duplicate_warned",
        "consent.given",
        "consent.refused",
        "enrolment.cancelled",
        "enrolment.paused",
        "enrolment.taken_over",
        "enrolment.discarded",
        "enrolment.submitted",
        "receipt.printed",
        "exception.confirmed",
        "document.checked",
        "document.override",
        "chip.read",
        "chip.decision",
    }
)


def no_operation_log(event: str, details: dict[str, Any]) -> None:
    """The default hook: the record of operations is not wired in."""


def report(hook: OnOperation, event: str, **details: Any) -> None:
    """Call the hook; its failure is logged and never stops the enrolment."""
    if event not in EVENTS:
        raise ValueError(f"undocumented operation {event!r}")
    try:
        hook(event, details)
    except Exception:
        logger.exception("the record of operations refused %s", event)
