"""The record of operations (issue 17): a tamper-evident, append-only log of what
happened on this kiosk, its signed checkpoints, and the daily service ledger.

The API other parts of the kiosk call - one hook, the same shape as the
workflow's ``on_operation``::

    audit.record(event: str, fields: dict[str, Any]) -> None     # never raises

``event`` is one of :data:`EVENTS` (documented in :mod:`appliance.audit.events`,
with the fields each may carry). A ``case_reference`` field is stored as its
keyed hash ``case_digest`` (:mod:`appliance.audit.pseudonym`); ``workflow_id``
is filled in with the enrolment in progress when omitted. Examples, for the
case service (part B of issue 17)::

    audit.record("case.lookup", {"operator": user, "case_reference": ref,
                                 "mode": "online", "outcome": "found"})
    audit.record("case.check_in", {"operator": user, "case_reference": ref,
                                   "mode": "queued"})
    audit.record("case.check_in_sent", {"case_reference": ref})
    audit.record("case.override", {"operator": user, "confirmed_by": supervisor,
                                   "case_reference": ref, "reason": text,
                                   "outcome": "not_found"})
    audit.record("appointments.listed", {"day": "2026-11-23", "count": n,
                                         "case_digests": [audit.digest(r) for r in refs]})
    audit.record("appointments.purged", {"day": "2026-11-23", "count": n})

The running service is :class:`AuditService` (composition root: ``Services.audit``);
:func:`verify_log`, :func:`case_history` and :func:`inclusion_proof` serve the
``appliance audit`` command. Formats shared with central live in
:mod:`transparency`; the byte formats are in ``docs/audit-log.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from appliance.audit.events import EVENTS
from appliance.audit.inspect import case_history, inclusion_proof, read_entries
from appliance.audit.log import AuditLog
from appliance.audit.pseudonym import CaseKey
from appliance.audit.service import AuditService, AuditSettings, open_audit
from appliance.audit.verify import Report, verify_log

#: The operations hook: (event, fields) -> None; must not raise.
OnOperation = Callable[[str, dict[str, Any]], None]

__all__ = [
    "EVENTS",
    "AuditLog",
    "AuditService",
    "AuditSettings",
    "CaseKey",
    "OnOperation",
    "Report",
    "case_history",
    "inclusion_proof",
    "open_audit",
    "read_entries",
    "verify_log",
]
