"""A provisioned kiosk with simulated devices and a loopback central, for UI tests and bench.

:func:`kiosk_world` starts, in order: the reference receiver on loopback, the
kiosk's provisioning against it, the synthetic camera scenes (simulated
portraits for the face camera; a tilted specimen card and an appointment QR
slip for the document camera, both played by ``file`` cameras), then the
appliance itself with them and the simulated reader. Central's case store holds
synthetic cases for the site (:data:`TEST_CASES`, appointments today, plus a
closed one and one at another site); the kiosk pulls today's signed appointment
list before central is stopped (``central_up=False``). Three
accounts are created: operator ``ana``, supervisor ``sofia`` (PIN) and
technician ``tiago``. :class:`WorldThread` runs the same in a background
thread with its own event loop, for the synchronous Playwright tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import cv2
from cryptography.hazmat.primitives import serialization

from appliance.accounts import Role
from appliance.app import Appliance
from appliance.config.model import ApplianceConfig
from appliance.devices import DeviceRole
from appliance.documents.presented import SimulatedCounter, case_identity, presented_document
from appliance.documents.specimen_data import write_mrz
from appliance.identity.store import IdentityFiles, provision
from central.cases.servicer import CaseDesk
from central.cases.setup import case_desk, open_case_store
from central.cases.synthetic import OTHER_SITE, synthetic_case
from central.server import Receiver, load_or_create_state
from central.state import ReceiverState
from drivers.errors import DeviceDisconnected
from drivers.sim.documents import counter_scene, document_scene
from drivers.sim.portrait import PortraitScene, render_portrait

SECRET = b"e2e-device-key-passphrase-0123456789"
SITE = "CLAIM-E2E-001"
CASE_REFERENCE = "AIMA-2026-004217"
#: Open cases with an appointment today at the test site (the references the tests use).
TEST_CASES = (
    CASE_REFERENCE,
    *(f"AIMA-2026-{n:06d}" for n in (0, 1, 2, 3, 555, 556, 557, 558, 559)),
    *(f"AIMA-2026-{n:06d}" for n in range(777, 790)),
    *(f"AIMA-2026-{n:06d}" for n in range(100001, 100011)),
    *(f"AIMA-2026-9{n:05d}" for n in range(0, 51)),
    "AIMA-2026-999999",
    # The counter's problems (issue 14): engine tests, Chromium tests, the taps bench.
    *(f"AIMA-2026-{n:06d}" for n in range(200001, 200011)),
    *(f"AIMA-2026-{n:06d}" for n in range(140001, 140011)),
    "AIMA-2026-141280",
    "AIMA-2026-14800",
    *(f"AIMA-2026-77{n:04d}" for n in range(20)),
)
CLOSED_CASE = "AIMA-2026-CLOSED-01"
OTHER_SITE_CASE = "AIMA-2026-ELSEWHERE-01"
ACCOUNTS = {
    "ana": (Role.OPERATOR, "ana password 1", None, "Ana Operadora"),
    "sofia": (Role.SUPERVISOR, "sofia password 1", "246810", "Sofia Supervisora"),
    "tiago": (Role.TECHNICIAN, "tiago password 1", None, "Tiago Técnico"),
}


@dataclass
class World:
    app: Appliance
    base_url: str
    root: Path
    cases: CaseDesk
    #: Every record_operation(event, fields) the kiosk made (what the audit log receives).
    operations: list[tuple[str, dict[str, object]]]
    central: Receiver
    central_port: int
    #: Runs a coroutine on the kiosk's event loop (set by :class:`WorldThread`).
    call: Callable[..., Any] | None = None

    def password(self, user: str) -> str:
        return ACCOUNTS[user][1]

    async def central_down(self) -> None:
        await self.central.stop(grace=0)

    async def central_up(self) -> None:
        """Central back on the same port (same state, same case store)."""
        self.central = Receiver(self.central.state, cases=self.cases)
        await self.central.start(f"127.0.0.1:{self.central_port}")


async def seed_cases(desk: CaseDesk, site: str = SITE) -> None:
    """The synthetic cases of the test site, appointments spread over today (local)."""
    zone = ZoneInfo(await desk.store.time_zone(site))
    today = dt.datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    for index, reference in enumerate(TEST_CASES):
        start = today + dt.timedelta(hours=8, minutes=index)
        await desk.store.add_case(*synthetic_case(reference, site, start))
    noon = today + dt.timedelta(hours=12)
    await desk.store.add_case(*synthetic_case(CLOSED_CASE, site, noon, status="closed"))
    await desk.store.add_case(*synthetic_case(OTHER_SITE_CASE, OTHER_SITE, noon))


def _config(
    root: Path, central_port: int, faces: list[Path], scenes: list[Path], **ui: Any
) -> ApplianceConfig:
    finger_delay = float(ui.pop("finger_delay_s", 0.05))
    lift_delay = float(ui.pop("lift_delay_s", 0.0))
    preview_interval = float(ui.pop("preview_interval_s", 0.02))
    extra: dict[str, Any] = ui.pop("config", {})  # more sections, merged in (e.g. a chip reader)
    document: dict[str, Any] = {
        "site": {"claim_id": SITE, "municipality": "Lisboa", "kiosk_name": "k-e2e"},
        "central": {"endpoint": f"127.0.0.1:{central_port}"},
        "devices": {
            # Pre-rendered simulated portraits (1024x768, as the demo's camera): the
            # renderer itself manages only ~11 fps at that size on 2 cores.
            "face_camera": {
                "type": "file",
                "device_id": "sim-face-camera",
                "paths": [str(p) for p in faces],
                "fps": 20,
            },
            "document_camera": {
                "type": "file",
                "device_id": "sim-document-camera",
                "paths": [str(p) for p in scenes],
                "fps": 10,
            },
            "fingerprint_reader": {
                "type": "sim",
                "finger_delay_s": finger_delay,
                "lift_delay_s": lift_delay,
                "preview_interval_s": preview_interval,
            },
            "receipt_printer": {"type": "sim"},
        },
        "storage": {"state_dir": str(root / "state"), "quota_mb": 64},
        "web": {"port": int(ui.pop("web_port", 0))},
        "ui": ui,
        "logging": {"level": "INFO", "json_logs": False},
    }
    for section, values in extra.items():
        document[section] = {**document.get(section, {}), **values}
    return ApplianceConfig.model_validate(document)


async def prepare_kiosk(
    root: Path, receiver: Receiver, central: ReceiverState, **ui: Any
) -> ApplianceConfig:
    """Provision the kiosk against ``receiver`` and render its camera scenes; its config."""
    token = secrets.token_hex(8)
    central.store.add_token(token)
    files = IdentityFiles(root / "state" / "identity")
    if not files.provisioned():  # a second boot on the same state keeps its identity
        await provision(
            files,
            central=f"127.0.0.1:{receiver.enrol_port}",
            token=token,
            site_id=SITE,
            kiosk_name="k-e2e",
            secret=SECRET,
            central_ca_pem=central.ca.certificate.public_bytes(serialization.Encoding.PEM),
        )
    scenes = [root / "scene-counter.png"]
    counter_slip(root, CASE_REFERENCE)
    faces = [root / f"portrait-{seed}.jpg" for seed in range(4)]
    for seed, path in enumerate(faces):
        portrait = render_portrait(PortraitScene(), 1024, 768, seed=seed)
        cv2.imwrite(str(path), portrait, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return _config(root, receiver.port, faces, scenes, **ui)


def _bound_case(app: Appliance) -> Any:
    """The case the enrolment in progress started on (what the applicant's papers say)."""
    if app.services is None or app.services.workflow.case.bound is None:
        return None
    return app.services.workflow.case.bound.case


@contextlib.asynccontextmanager
async def kiosk_world(
    root: Path,
    *,
    central_up: bool = True,
    on_operation: Callable[[str, dict[str, Any]], None] | None = None,
    **ui: Any,
) -> AsyncIterator[World]:
    """A running, provisioned appliance (see the module docstring).

    ``central_up=False`` stops central once the kiosk has started (and pulled the
    day's appointment list): every packet then stays in the outbox. ``on_operation``
    also receives every operation (``World.operations`` keeps them all).
    """
    central = load_or_create_state(root / "central", hosts=["127.0.0.1"])
    desk = case_desk(root / "central", central.ca, await open_case_store(root / "central"))
    await seed_cases(desk)
    receiver = Receiver(central, cases=desk)
    port = await receiver.start("127.0.0.1:0")
    try:
        credentials = root / "credentials"
        credentials.mkdir(parents=True, exist_ok=True, mode=0o700)
        (credentials / "device-key-passphrase").write_bytes(SECRET)
        previous = os.environ.get("CREDENTIALS_DIRECTORY")
        os.environ["CREDENTIALS_DIRECTORY"] = str(credentials)  # read once, at start
        app = Appliance(await prepare_kiosk(root, receiver, central, **ui))
        operations: list[tuple[str, dict[str, object]]] = []
        counter = SimulatedCounter(root / "scene-counter.png", lambda: _bound_case(app))

        def observe(event: str, fields: dict[str, object]) -> None:
            operations.append((event, dict(fields)))
            counter.on_operation(event, fields)  # the applicant shows their own document
            if on_operation is not None:
                on_operation(event, dict(fields))

        app.observe_operation = observe
        try:
            await app.start()
        finally:
            if previous is None:
                os.environ.pop("CREDENTIALS_DIRECTORY", None)
            else:
                os.environ["CREDENTIALS_DIRECTORY"] = previous
        try:
            assert app.services is not None
            if app.cases is not None:  # opening time: today's list, before central may go
                await app.cases.refresh_day_list()
            if not central_up:
                await receiver.stop(grace=0)
            accounts = app.services.accounts
            for name, (role, password, pin, display) in ACCOUNTS.items():
                if name in {a.username for a in accounts.accounts()}:
                    continue
                await asyncio.to_thread(
                    accounts.create, name, role, password, pin=pin, display_name=display
                )
            world = World(
                app, f"http://127.0.0.1:{app.web_port}", root, desk, operations, receiver, port
            )
            try:
                yield world
            finally:
                receiver = world.central  # the test may have restarted central
        finally:
            await app.stop()
            await asyncio.to_thread(counter.settle)  # its last document is on the counter
    finally:
        await receiver.stop(grace=0)
        await desk.store.close()
        central.store.close()


def show_document(
    world: World, reference: str, *, kind: str = "residence_permit"
) -> tuple[str, ...]:
    """Put ``reference``'s applicant's document on the counter (after the enrolment
    started: the simulated counter shows the applicant's own at the start); its MRZ lines."""
    return counter_document(world.root, reference, kind=kind)


def counter_document(
    root: Path, reference: str, *, kind: str = "residence_permit"
) -> tuple[str, ...]:
    """Write the document camera's scene (``root``/scene-counter.png) with ``reference``'s
    applicant's document on the counter; its MRZ lines. Also for a kiosk in another process."""
    case, _ = synthetic_case(reference, SITE, dt.datetime.now(dt.UTC))
    identity = case_identity(case)
    if kind != "residence_permit":
        identity = replace(identity, kind="TD3", document_code="P<")
    scene = document_scene(card=presented_document(identity))
    target = root / "scene-counter.png"
    partial = target.with_suffix(".partial.png")
    cv2.imwrite(str(partial), scene)
    partial.replace(target)
    return write_mrz(identity)


def counter_slip(root: Path, reference: str) -> None:
    """Write the document camera's scene (``root``/scene-counter.png) with the appointment
    slip of ``reference`` (its QR code) beside the specimen card, as at the start."""
    target = root / "scene-counter.png"
    partial = target.with_suffix(".partial.png")
    cv2.imwrite(str(partial), counter_scene(f"AIMA:CASE={reference}"))
    partial.replace(target)


def sim_reader(app: Appliance) -> Any:
    assert app.supervisor is not None
    return app.supervisor._slots[DeviceRole.FINGERPRINT_READER].device


async def unplug_reader(app: Appliance) -> None:
    """The simulated reader is pulled out: it fails and cannot be reopened until replugged."""
    supervisor = app.supervisor
    assert supervisor is not None
    sim_reader(app).faults.unplug()
    error = DeviceDisconnected("simulated unplug", device_id="sim-reader-0")
    supervisor.report_failure(DeviceRole.FINGERPRINT_READER, error)
    await sim_reader(app).close()
    await supervisor.tick()


async def replug_reader(app: Appliance) -> None:
    supervisor = app.supervisor
    assert supervisor is not None
    sim_reader(app).faults.replug()
    supervisor.reset(DeviceRole.FINGERPRINT_READER)
    await supervisor.tick()


class WorldThread:
    """:func:`kiosk_world` on a background event loop (for synchronous callers)."""

    def __init__(self, root: Path, **ui: Any) -> None:
        self._root = root
        self._ui = ui
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self.world: World | None = None
        self._thread = threading.Thread(target=self._run, name="kiosk-world", daemon=True)

    def __enter__(self) -> World:
        self._thread.start()
        if not self._ready.wait(120):
            raise TimeoutError("the kiosk did not start in time")
        if self._error is not None:
            raise self._error
        assert self.world is not None
        self.world.call = self.call
        return self.world

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)

    def call(self, coro: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the kiosk's loop and wait for its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        logging.getLogger().setLevel(logging.INFO)  # as the daemon runs: the log view shows it
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with kiosk_world(self._root, **self._ui) as world:
                self.world = world
                self._ready.set()
                await self._stop.wait()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
