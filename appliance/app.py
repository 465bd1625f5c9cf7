"""The composition root: builds every service in order and tears it down in reverse.

Nothing else in the appliance constructs long-lived services. The start order:

    config -> state directory -> models check -> identity -> outbox -> record of
    operations (opened) -> uplink + heartbeat -> record of operations (checkpoints
    and upload) -> case directory (day list, check-ins) -> devices (drivers,
    supervisor, hotplug) -> receipt printer -> face engine -> capture service ->
    accounts + login sessions -> workflow (resumed from disk) -> warm-up -> retention -> web

The record of operations (:mod:`appliance.audit`) is the operations hook given
to the workflow, the capture service, the login sessions and the uplink.

``stop`` runs the same list backwards. One stop signal (SIGTERM/SIGINT, or
:meth:`Appliance.request_stop`) ends the process cleanly. READY is signalled to
systemd only once everything above runs, engines warmed included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import grpc
from cryptography import x509
from fastapi import FastAPI

from appliance import assembly
from appliance.accounts import AccountStore, LoginSessions, Role
from appliance.allowlist import DEFAULT_ALLOWLIST, allowlist_verdict, load_approved
from appliance.audit import AuditService, open_audit
from appliance.capture.service import CaptureService
from appliance.cases import CaseDirectory
from appliance.cases.setup import start_case_directory
from appliance.config import ApplianceConfig, Profile
from appliance.devices import Device, DeviceRole, DeviceSupervisor
from appliance.face.capture import FaceCaptureService
from appliance.finger.nbis_pool import NbisWorkerError, NbisWorkers
from appliance.finger.quality import FingerScorer
from appliance.identity.store import LoadedIdentity
from appliance.logview import RingBufferHandler
from appliance.memory import configure_malloc
from appliance.metrics import ApplianceMetrics
from appliance.models_check import StartupError, check_models
from appliance.outbox import Outbox
from appliance.outbox.case_key import CaseHistory
from appliance.receipt.printing import ReceiptPrinting
from appliance.retention import Retention
from appliance.sdnotify import Notifier, watchdog_interval_s
from appliance.services import Services
from appliance.uplink.client import TlsMaterial, Uplink, secure_channel
from appliance.uplink.heartbeat import Heartbeat
from appliance.watchdog import Watchdog
from appliance.web.app import create_app
from appliance.web.server import WebServer
from appliance.workflow.case_step import CaseStep
from appliance.workflow.engine import CaseLookup, WorkflowEngine
from appliance.workflow.persist import WorkflowFile
from appliance.workflow.supervisor import supervisor_check
from drivers.hotplug import UsbEvent, create_monitor
from drivers.interfaces import DeviceInfo, DeviceState
from drivers.registry import create_camera, create_document_reader, create_printer, create_reader
from packet.trust import TrustStore

logger = logging.getLogger(__name__)

Stopper = Callable[[], Awaitable[None]]
_T = TypeVar("_T")

__all__ = ["Appliance", "StartupError"]


class Appliance:
    """The running daemon."""

    def __init__(
        self,
        config: ApplianceConfig,
        *,
        serve_web: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.serve_web = serve_web
        self.clock = clock  # monotonic time of the idle lock and the restart budget (tests)
        self.metrics = ApplianceMetrics()
        self.notifier = Notifier()
        self.watchdog: Watchdog | None = None
        interval = watchdog_interval_s()
        if interval is not None:
            self.watchdog = Watchdog(self.notifier, interval)
            self.watchdog.register("event-loop", max_silence_s=max(5.0, interval * 2))
            self.watchdog.register("devices", max_silence_s=30.0)
        self._stop = asyncio.Event()
        self._stoppers: list[tuple[str, Stopper]] = []
        self.identity: LoadedIdentity | None = None
        self.outbox: Outbox | None = None
        self.audit: AuditService | None = None
        self.receipt_printing: ReceiptPrinting | None = None
        self.uplink: Uplink | None = None
        self.supervisor: DeviceSupervisor | None = None
        self.face_engine: FaceCaptureService | None = None
        self.channel: grpc.aio.Channel | None = None
        self.cases: CaseDirectory | None = None
        #: Sees every operation the services report, after the record of operations
        #: (tests and tools; set before start).
        self.observe_operation: Callable[[str, dict[str, Any]], None] | None = None
        self.services: Services | None = None
        self.web_app: FastAPI | None = None
        self._server_task: asyncio.Task[None] | None = None
        self.web_port: int | None = None

    @property
    def workflow(self) -> WorkflowEngine:
        assert self.services is not None, "the appliance is not started"
        return self.services.workflow

    def request_stop(self) -> None:
        self._stop.set()

    async def start(self) -> None:
        """Start every service in order; on failure, stop what was started."""
        try:
            configure_malloc()  # before the threads: see appliance.memory
            self._prepare_state_dir()
            self._check_models()
            self.identity = assembly.device_identity(self.config)
            self._start_outbox()
            self._open_audit()
            self._start_uplink()
            self._start_audit()
            await self._start_cases()
            await self._start_devices()
            await self._start_printer()
            self._start_face_engine()
            scorer = await self._start_finger_scoring()
            capture = self._build_capture(scorer)
            accounts, logins = self._start_accounts()
            workflow = self._start_workflow(capture, accounts)
            await capture.warm_up()
            self._start_retention(workflow)
            self.services = Services(
                config=self.config,
                metrics=assembly.scraped_metrics(
                    self.metrics, self.supervisor, self.outbox, self.identity
                ),
                supervisor=self._require(self.supervisor),
                outbox=self.outbox,
                capture=capture,
                accounts=accounts,
                logins=logins,
                workflow=workflow,
                cases=self.cases,
                logs=self._start_log_view(),
                certificate_expiry=self._certificate_expiry,
                audit=self.audit,
                receipt_printing=self.receipt_printing,
            )
            if self.serve_web:
                await self._start_web(self.services)
        except BaseException:
            await self.stop()
            raise
        if self.watchdog is not None:
            self.watchdog.start()
            self._stoppers.append(("watchdog", self.watchdog.stop))
        self.notifier.ready(f"serving on {self.config.web.host}:{self.web_port}")
        logger.info("appliance ready on http://%s:%s", self.config.web.host, self.web_port)

    async def stop(self) -> None:
        """Stop services in reverse start order; each one's failure is logged, not fatal."""
        while self._stoppers:
            name, stopper = self._stoppers.pop()
            try:
                await stopper()
            except Exception:
                logger.exception("stopping %s failed", name)

    async def run_until_stopped(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        await self.start()
        try:
            stop_wait = asyncio.create_task(self._stop.wait())
            waiters: set[asyncio.Task[object]] = {stop_wait}
            if self._server_task is not None:
                waiters.add(self._server_task)
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
            server = self._server_task
            if server is not None and server.done() and not self._stop.is_set():
                raise RuntimeError("the web server stopped unexpectedly") from server.exception()
        finally:
            logger.info("appliance stopping")
            self.notifier.stopping()
            await self.stop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)

    # ------------------------------------------------------------------ services

    @staticmethod
    def _require(value: _T | None) -> _T:
        assert value is not None
        return value

    def _on_stop(self, name: str, stopper: Stopper) -> None:
        self._stoppers.append((name, stopper))

    def _prepare_state_dir(self) -> None:
        self.config.storage.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _check_models(self) -> None:
        """Production refuses to start with a missing or corrupted model file."""
        check_models(production=self.config.profile is Profile.PRODUCTION)

    def _start_outbox(self) -> None:
        storage = self.config.storage
        outbox = Outbox(
            storage.state_dir / "outbox",
            quota_bytes=storage.quota_mb << 20,
            warn_percent=storage.warn_percent,
        )
        self.outbox = outbox

        async def close() -> None:
            outbox.close()

        self._on_stop("outbox", close)

    def _operation(self, event: str, fields: dict[str, Any]) -> None:
        """Every operation a service reports: into the record of operations, then the observer."""
        if self.audit is not None:
            self.audit.record(event, fields)
        if self.observe_operation is not None:
            self.observe_operation(event, fields)

    def _open_audit(self) -> None:
        """The record of operations, opened before anything can report to it."""
        signer = self.identity.identity if self.identity is not None else None
        self.audit = open_audit(self.config, signer)

    def _start_audit(self) -> None:
        """Checkpoints, ledgers and their upload (over the uplink's channel, if any)."""
        audit = self._require(self.audit)
        audit.start(self.channel)
        self._on_stop("record of operations", audit.stop)

    def _start_uplink(self) -> None:
        if self.identity is None or self.outbox is None:
            return
        identity = self.identity
        tls_config = self.config.central.tls
        anchors = identity.trust_anchors_pem
        if tls_config.ca_bundle is not None:  # overrides the CAs stored at provisioning
            try:
                anchors = tls_config.ca_bundle.read_bytes()
            except OSError as exc:
                raise StartupError(
                    f"central.tls.ca_bundle {tls_config.ca_bundle}: {exc.strerror}"
                ) from None
        tls = TlsMaterial(
            identity.client_key_pem(),
            identity.chain_pem(),
            anchors,
            tls_config.server_name_override,
        )
        central = self.config.central
        channel = secure_channel(central.addresses(), tls, health_check=central.health_check)
        uplink = Uplink(
            self.outbox,
            channel,
            identity.receipt_signer,
            on_delivered=self.metrics.upload_latency.observe,
            receipt_trust=TrustStore(x509.load_pem_x509_certificates(anchors)),
            on_operation=self._operation,
        )
        uplink.start()
        self.uplink = uplink
        self.channel = channel
        heartbeat = Heartbeat(
            channel,
            self.outbox,
            self._device_reports,
            identity.identity.chain[0].not_valid_after_utc,
        )
        heartbeat.start()

        async def stop() -> None:
            await heartbeat.stop()
            await uplink.stop()
            await channel.close(grace=None)

        self._on_stop("uplink", stop)

    async def _start_cases(self) -> None:
        """Case lookups, check-ins and the day list (needs the identity and central's channel)."""
        if self.identity is not None and self.channel is not None:
            self.cases = await start_case_directory(
                self.config,
                self.identity,
                self.channel,
                self._on_stop,
                self._operation,
                self._require(self.audit).digest,
            )

    def _device_reports(self) -> list[tuple[DeviceInfo, DeviceState, str | None]]:
        if self.supervisor is None:
            return []
        return [(s.info, s.state, s.message_key) for s in self.supervisor.statuses()]

    def _allowlist_check(self) -> Callable[[DeviceInfo], str | None]:
        path = self.config.devices.allowlist or DEFAULT_ALLOWLIST
        approved = load_approved(path)
        return lambda info: allowlist_verdict(approved, info)

    async def _start_devices(self) -> None:
        cfg = self.config.devices
        devices: dict[DeviceRole, Device] = {
            DeviceRole.FACE_CAMERA: create_camera(cfg.face_camera),
            DeviceRole.FINGERPRINT_READER: create_reader(cfg.fingerprint_reader),
        }
        if cfg.document_camera is not None:
            devices[DeviceRole.DOCUMENT_CAMERA] = create_camera(cfg.document_camera)
        if cfg.document_reader is not None:
            devices[DeviceRole.DOCUMENT_READER] = create_document_reader(cfg.document_reader)
        watchdog = self.watchdog
        supervisor = DeviceSupervisor(
            devices,
            restart_budget=cfg.restart_budget,
            restart_window_s=cfg.restart_window_s,
            on_tick=(lambda: watchdog.beat("devices")) if watchdog else None,
            approve=self._allowlist_check(),
            clock=self.clock,
        )
        await supervisor.start()
        self.supervisor = supervisor
        self._on_stop("devices", supervisor.stop)
        if any(d.info.usb_vid is not None and not d.info.simulated for d in devices.values()):
            self._start_hotplug(supervisor)

    async def _start_printer(self) -> None:
        """The receipt printer, when one is configured (jobs open the device as they print:
        a printer switched off or out of paper is shown to the operator, not a start failure)."""
        config = self.config.devices.receipt_printer
        if config is None:
            return
        printer = create_printer(config)
        await printer.open()
        self.receipt_printing = ReceiptPrinting(printer)
        self._on_stop("receipt printer", printer.close)

    def _start_hotplug(self, supervisor: DeviceSupervisor) -> None:
        """USB add/remove events reach the supervisor on the event loop."""
        loop = asyncio.get_running_loop()
        monitor = create_monitor()

        def forward(event: UsbEvent) -> None:  # runs on the monitor's thread
            loop.call_soon_threadsafe(supervisor.on_usb_event, event)

        monitor.start(forward)

        async def stop() -> None:
            await asyncio.to_thread(monitor.stop)

        self._on_stop("usb hotplug", stop)

    def _start_face_engine(self) -> None:
        """The ICAO engine; the models were checked (production) before anything started."""
        engine = FaceCaptureService(self.config.quality.face)
        if not engine.available():
            if self.config.profile is Profile.PRODUCTION:  # check_models makes this unreachable
                raise StartupError("the face engine cannot load its models")
            logger.warning("face models missing: demo profile, plain JPEG and coarse guidance")
            return
        self.face_engine = engine

        async def close() -> None:
            await asyncio.to_thread(engine.close)

        self._on_stop("face engine", close)

    async def _start_finger_scoring(self) -> NbisWorkers:
        """The NFIQ 2 worker processes, started and warmed now (a slap's fingers at once)."""
        workers = NbisWorkers()
        self._on_stop("nfiq2 workers", lambda: asyncio.to_thread(workers.close))
        try:
            await asyncio.to_thread(workers.start)
        except NbisWorkerError as exc:
            raise StartupError(str(exc)) from None
        return workers

    def _build_capture(self, scorer: FingerScorer) -> CaptureService:
        capture = assembly.capture_service(
            self.config,
            self._require(self.supervisor),
            self.metrics,
            identity=self.identity,
            outbox=self.outbox,
            face_engine=self.face_engine,
            finger_scorer=scorer,
            on_sealed=self.uplink.notify if self.uplink is not None else None,
            on_operation=self._operation,
            case_key=self._require(self.audit).case_key,
        )

        async def wipe() -> None:
            capture.end()

        self._on_stop("capture", wipe)
        return capture

    def _start_accounts(self) -> tuple[AccountStore, LoginSessions]:
        ui, state_dir = self.config.ui, self.config.storage.state_dir
        accounts = AccountStore(
            state_dir / "accounts.sqlite",
            max_failures=ui.max_failed_logins,
            lockout_s=ui.lockout_s,
        )
        if accounts.count(Role.TECHNICIAN) == 0:
            logger.warning("no technician account yet: create one with 'appliance account add'")
        logins = LoginSessions(
            idle_lock_s=ui.idle_lock_s,
            max_age_s=ui.session_max_s,
            clock=self.clock,
            on_operation=self._operation,
        )

        async def close() -> None:
            logins.end_all()
            accounts.close()

        self._on_stop("accounts", close)
        return accounts, logins

    def _start_workflow(self, capture: CaptureService, accounts: AccountStore) -> WorkflowEngine:
        confirm = supervisor_check(accounts)
        unverified = self.config.profile is Profile.DEMO and self.identity is None  # demo only
        case_step = CaseStep.of(self.config, self.cases, confirm, unverified, self._operation)
        workflow = WorkflowEngine(
            WorkflowFile(self.config.storage.state_dir / "workflow"),
            capture,
            confirm_supervisor=confirm,
            case_step=case_step,
            nfiq2_threshold=self.config.quality.finger.nfiq2_min,
            site_id=self.config.site.claim_id,
            municipality=self.config.site.municipality,
            kiosk_name=self.config.site.kiosk_name,
            default_language=self.config.ui.applicant_language,
            on_operation=self._operation,
            case_lookup=self._case_history(),
        )
        workflow.recover()
        if self.audit is not None and workflow.record is not None:
            self.audit.log.set_context(workflow.record.workflow_id)  # resumed enrolment
        self._on_stop("workflow", workflow.close)
        return workflow

    def _case_history(self) -> CaseLookup | None:
        """What this kiosk's outbox remembers of a case (enrolled here, or delivered)."""
        if self.outbox is None:
            return None
        return CaseHistory(self.outbox, self._require(self.audit).case_key).seen

    def _start_retention(self, workflow: WorkflowEngine) -> None:
        state_dir = self.config.storage.state_dir
        retention = Retention(self.outbox, self.config.retention, workflow, state_dir / "workflow")
        retention.start()
        self._on_stop("retention", retention.stop)

    def _start_log_view(self) -> RingBufferHandler:
        logs = RingBufferHandler()
        logs.install()

        async def uninstall() -> None:
            logs.uninstall()

        self._on_stop("log view", uninstall)
        return logs

    def _certificate_expiry(self) -> datetime | None:
        identity = self.identity
        return identity.identity.chain[0].not_valid_after_utc if identity else None

    async def _start_web(self, services: Services) -> None:
        self.web_app = create_app(services)
        server = WebServer(self.web_app, self.config.web.host, self.config.web.port)
        self.web_port = await server.start()
        self._server_task = server.task
        workflow = services.workflow

        async def stop_web() -> None:
            await workflow.face.preview.close()  # end the live previews: the server waits
            await workflow.documents.preview.close()
            await server.stop()

        self._on_stop("web", stop_web)
