"""Who is being enrolled: case lookup (online or from the day's signed list) and check-in.

The composition root builds one :class:`CaseDirectory` (:mod:`.service`); the
workflow's start step (:mod:`appliance.workflow.case_step`) uses it. See
docs/day-list.md for the list's format and docs/data-protection.md for what is
kept where and for how long.
"""

from appliance.cases.model import BLOCKING, CaseCheck, CheckInTicket, Outcome, Source
from appliance.cases.service import (
    CaseDirectory,
    CaseSettings,
    CasesStatus,
    RecordOperation,
)

__all__ = [
    "BLOCKING",
    "CaseCheck",
    "CaseDirectory",
    "CaseSettings",
    "CasesStatus",
    "CheckInTicket",
    "Outcome",
    "RecordOperation",
    "Source",
]
