"""The long-lived services of a running kiosk, built by the composition root.

:class:`Services` is frozen: the web layer receives it and only translates HTTP
into calls on these objects; it constructs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from appliance.accounts import AccountStore, LoginSessions
from appliance.audit import AuditService
from appliance.capture.service import CaptureService
from appliance.cases import CaseDirectory
from appliance.config import ApplianceConfig
from appliance.devices import DeviceSupervisor
from appliance.logview import RingBufferHandler
from appliance.metrics import ApplianceMetrics
from appliance.outbox import Outbox
from appliance.receipt.printing import ReceiptPrinting
from appliance.workflow.engine import WorkflowEngine


@dataclass(frozen=True)
class Services:
    config: ApplianceConfig
    metrics: ApplianceMetrics
    supervisor: DeviceSupervisor
    outbox: Outbox | None
    capture: CaptureService
    accounts: AccountStore
    logins: LoginSessions
    workflow: WorkflowEngine
    #: Case lookups, check-ins, the day list (None: not provisioned, demo only).
    cases: CaseDirectory | None
    logs: RingBufferHandler
    certificate_expiry: Callable[[], datetime | None]
    #: The record of operations and the service ledger (the operations hook is its record).
    audit: AuditService | None = None
    receipt_printing: ReceiptPrinting | None = None  # devices.receipt_printer, when configured
