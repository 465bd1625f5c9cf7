"""The composition root: builds every service in order and tears it down in reverse.

Nothing else in the appliance constructs long-lived services. The start order
is config -> state directory -> devices (drivers + supervisor) -> capture
sessions -> web; ``stop`` runs the same list backwards. One stop signal
(SIGTERM/SIGINT, or :meth:`Appliance.request_stop`) ends the process cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator

import uvicorn

from appliance.allowlist import DEFAULT_ALLOWLIST, allowlist_verdict, load_approved
from appliance.capture_sessions import CaptureSessions
from appliance.config import ApplianceConfig, Profile
from appliance.devices import DeviceRole, DeviceSupervisor
from appliance.face.capture import FaceCaptureService
from appliance.identity.pkcs11_key import PIN_CREDENTIAL, Pkcs11DeviceKey
from appliance.identity.software_key import KeyStoreError, credential_secret
from appliance.identity.store import IdentityFiles, LoadedIdentity, load_identity
from appliance.metrics import ApplianceMetrics, certificate_days_left
from appliance.outbox import Outbox
from appliance.sdnotify import Notifier, watchdog_interval_s
from appliance.uplink.client import TlsMaterial, Uplink, secure_channel
from appliance.uplink.heartbeat import Heartbeat
from appliance.watchdog import Watchdog
from appliance.web.api import Submitter, create_api
from appliance.web.ui import UiServices, build_ui
from drivers.hotplug import UsbEvent, create_monitor
from drivers.interfaces import Camera, DeviceInfo, DeviceState, FingerprintReader
from drivers.registry import create_camera, create_reader

logger = logging.getLogger(__name__)

Stopper = Callable[[], Awaitable[None]]


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the appliance owns the stop signal."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Appliance:
    """The running daemon."""

    def __init__(self, config: ApplianceConfig) -> None:
        self.config = config
        self.metrics = ApplianceMetrics()
        self.face: FaceCaptureService | None = None
        self._stop = asyncio.Event()
        self._stoppers: list[tuple[str, Stopper]] = []
        self.supervisor: DeviceSupervisor | None = None
        self.sessions: CaptureSessions | None = None
        self.identity: LoadedIdentity | None = None
        self.outbox: Outbox | None = None
        self.uplink: Uplink | None = None
        self.heartbeat: Heartbeat | None = None
        self.notifier = Notifier()
        self.watchdog: Watchdog | None = None
        interval = watchdog_interval_s()
        if interval is not None:
            self.watchdog = Watchdog(self.notifier, interval)
            self.watchdog.register("event-loop", max_silence_s=max(5.0, interval * 2))
            self.watchdog.register("devices", max_silence_s=30.0)
        self.ui: UiServices | None = None
        self._server: _EmbeddedServer | None = None
        self._server_task: asyncio.Task[None] | None = None
        self.web_port: int | None = None

    def request_stop(self) -> None:
        self._stop.set()

    async def start(self) -> None:
        """Start every service in order; on failure, stop what was started."""
        try:
            self._prepare_state_dir()
            self._load_identity()
            self._start_outbox()
            await self._start_devices()
            self._start_sessions()
            self._start_uplink()
            await self._start_web()
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

    def _prepare_state_dir(self) -> None:
        state = self.config.storage.state_dir
        state.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _load_identity(self) -> None:
        """The device identity; production fails closed without an acceptable key."""
        files = IdentityFiles(self.config.storage.state_dir / "identity")
        production = self.config.profile is Profile.PRODUCTION
        if not files.provisioned():
            if production:
                raise KeyStoreError(f"not provisioned ({files.root}): run 'appliance provision'")
            logger.warning("kiosk not provisioned: captures work, submitting does not")
            return
        security = self.config.security
        hsm = None
        if security.key_backend == "pkcs11":
            pin = credential_secret(PIN_CREDENTIAL, minimum=4).decode()
            hsm = Pkcs11DeviceKey(
                security.pkcs11.module, security.pkcs11.token_label, security.pkcs11.key_label, pin
            )
        elif production and not security.allow_software_keys:
            raise KeyStoreError(
                "production needs a hardware-backed device key (TPM/HSM via PKCS#11: "
                "security.key_backend: pkcs11), or security.allow_software_keys: true"
            )
        self.identity = load_identity(files, credential_secret(), hsm)

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

        self._stoppers.append(("outbox", close))

    def _start_uplink(self) -> None:
        if self.identity is None or self.outbox is None:
            return
        identity = self.identity
        tls = TlsMaterial(
            identity.client_key_pem(),
            identity.chain_pem(),
            identity.trust_anchors_pem,
            self.config.central.tls.server_name_override,
        )
        channel = secure_channel(self.config.central.endpoint, tls)
        uplink = Uplink(
            self.outbox,
            channel,
            identity.receipt_signer,
            on_delivered=self.metrics.upload_latency.observe,
        )
        uplink.start()
        self.uplink = uplink
        heartbeat = Heartbeat(
            channel,
            self.outbox,
            self._device_reports,
            identity.identity.chain[0].not_valid_after_utc,
        )
        heartbeat.start()
        self.heartbeat = heartbeat

        async def stop() -> None:
            await heartbeat.stop()
            await uplink.stop()
            await channel.close(grace=None)

        self._stoppers.append(("uplink", stop))

    def _metrics(self) -> ApplianceMetrics:
        metrics = self.metrics
        supervisor, outbox, identity = self.supervisor, self.outbox, self.identity

        def refresh() -> None:
            if outbox is not None:
                status = outbox.status()
                metrics.outbox_depth.set(status.depth)
                metrics.outbox_oldest.set(status.oldest_age_s)
                metrics.outbox_quarantined.set(status.quarantined)
            if supervisor is not None:
                for row in supervisor.statuses():
                    ready = row.state in (DeviceState.READY, DeviceState.BUSY)
                    metrics.devices_ready.labels(row.role.value).set(1 if ready else 0)
            if identity is not None:
                expiry = identity.identity.chain[0].not_valid_after_utc.timestamp()
                metrics.certificate_days.set(certificate_days_left(expiry))

        metrics.on_scrape(refresh)
        return metrics

    def _allowlist_check(self) -> Callable[[DeviceInfo], str | None]:
        path = self.config.devices.allowlist or DEFAULT_ALLOWLIST
        approved = load_approved(path)
        return lambda info: allowlist_verdict(approved, info)

    def _device_reports(self) -> list[tuple[DeviceInfo, DeviceState, str | None]]:
        if self.supervisor is None:
            return []
        return [(s.info, s.state, s.message_key) for s in self.supervisor.statuses()]

    async def _start_devices(self) -> None:
        cfg = self.config.devices
        devices: dict[DeviceRole, Camera | FingerprintReader] = {
            DeviceRole.FACE_CAMERA: create_camera(cfg.face_camera),
            DeviceRole.FINGERPRINT_READER: create_reader(cfg.fingerprint_reader),
        }
        if cfg.document_camera is not None:
            devices[DeviceRole.DOCUMENT_CAMERA] = create_camera(cfg.document_camera)
        watchdog = self.watchdog
        supervisor = DeviceSupervisor(
            devices,
            restart_budget=cfg.restart_budget,
            restart_window_s=cfg.restart_window_s,
            on_tick=(lambda: watchdog.beat("devices")) if watchdog else None,
            approve=self._allowlist_check(),
        )
        await supervisor.start()
        self.supervisor = supervisor
        self._stoppers.append(("devices", supervisor.stop))
        if any(d.info.usb_vid is not None and not d.info.simulated for d in devices.values()):
            self._start_hotplug(supervisor)

    def _start_hotplug(self, supervisor: DeviceSupervisor) -> None:
        """USB add/remove events reach the supervisor on the event loop."""
        loop = asyncio.get_running_loop()
        monitor = create_monitor()

        def forward(event: UsbEvent) -> None:  # runs on the monitor's thread
            loop.call_soon_threadsafe(supervisor.on_usb_event, event)

        monitor.start(forward)

        async def stop() -> None:
            await asyncio.to_thread(monitor.stop)

        self._stoppers.append(("usb hotplug", stop))

    def _start_sessions(self) -> None:
        sessions = CaptureSessions()
        self.sessions = sessions

        async def wipe() -> None:
            sessions.clear()

        self._stoppers.append(("capture sessions", wipe))

    def _start_ui(self, submitter: Submitter | None) -> UiServices:
        """Accounts, login sessions and the enrolment workflow (resumed from disk)."""
        assert self.supervisor is not None and self.sessions is not None
        identity = self.identity
        ui = build_ui(
            self.config,
            self.supervisor,
            self.sessions,
            submitter,
            self.outbox,
            certificate_expiry=lambda: (
                identity.identity.chain[0].not_valid_after_utc if identity else None
            ),
            on_sealed=self.uplink.notify if self.uplink else None,
            face=self.face,
            on_quality_reject=lambda check: self.metrics.quality_rejects.labels(check).inc(),
        )
        self.ui = ui
        self._stoppers.append(("ui", ui.shutdown))
        return ui

    async def _close_face(self) -> None:
        if self.face is not None:
            await asyncio.to_thread(self.face.close)

    async def _start_web(self) -> None:
        assert self.supervisor is not None and self.sessions is not None
        submitter = None
        if self.identity is not None and self.outbox is not None:
            submitter = Submitter(
                self.outbox,
                self.identity.identity,
                self.identity.central_keys[0],
                self.config.site.claim_id,
                self.uplink.notify if self.uplink else None,
            )
        self.face = FaceCaptureService(self.config.quality.face)
        self._stoppers.append(("face engine", self._close_face))
        ui = self._start_ui(submitter)
        api = create_api(
            self.supervisor,
            self.sessions,
            submitter,
            self.outbox,
            self._metrics(),
            self.config.quality.finger,
            ui=ui,
            face=self.face,
        )
        server = _EmbeddedServer(
            uvicorn.Config(
                api,
                host=self.config.web.host,
                port=self.config.web.port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        self._server = server
        # Bind here so that "address in use" is a clear OSError, not uvicorn's sys.exit.
        sock = socket.create_server((self.config.web.host, self.config.web.port), reuse_port=False)
        # asyncio sets TCP_NODELAY only on proto=IPPROTO_TCP sockets and create_server makes
        # proto 0 ones: without this, Nagle + delayed ACKs add ~40 ms to every keep-alive call.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.web_port = sock.getsockname()[1]
        self._server_task = asyncio.create_task(server.serve(sockets=[sock]), name="web")
        while not server.started:
            if self._server_task.done():
                exc = self._server_task.exception()
                raise RuntimeError(
                    f"web server failed to start on {self.config.web.host}:{self.config.web.port}"
                ) from exc
            await asyncio.sleep(0.02)

        async def stop_web() -> None:
            await ui.close()  # end the live previews first: the server waits for streams
            server.should_exit = True
            if self._server_task is not None:
                await self._server_task

        self._stoppers.append(("web", stop_web))
