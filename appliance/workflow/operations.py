"""The workflow's one hook for the record of operations, and the names of its events.

The composition root injects ``on_operation(event, details)``; the default does
nothing. The record of operations (:mod:`appliance.audit`, issue 17) plugs in
here. The details never carry biometric data; a case reference is passed as
``case_reference`` and the record stores only its keyed hash.

Events the workflow reports (fields as in :mod:`appliance.audit.events`):
``enrolment.started``, ``consent.given``, ``consent.refused``,
``enrolment.cancelled``, ``enrolment.submitted``, ``exception.confirmed`` (a
missing finger, with the supervisor who confirmed it), ``document.checked`` (the
MRZ verdict), ``document.override``, ``chip.read`` (the chip's verdicts and the
face-match decision) and ``chip.decision`` (a supervisor's decision on a chip or
face-match failure). Capture attempts and
seals are reported by the capture service through the same hook.
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
        "consent.given",
        "consent.refused",
        "enrolment.cancelled",
        "enrolment.submitted",
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
