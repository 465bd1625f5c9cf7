"""A provisioned kiosk with simulated devices and a loopback central, for UI tests and bench.

:func:`kiosk_world` starts, in order: the reference receiver on loopback, the
kiosk's provisioning against it, the synthetic camera scenes (simulated
portraits for the face camera; a tilted specimen card and an appointment QR
slip for the document camera, both played by ``file`` cameras), then the
appliance itself with them and the simulated reader. Three
accounts are created: operator ``ana``, supervisor ``sofia`` (PIN) and
technician ``tiago``. :class:`WorldThread` runs the same in a background
thread with its own event loop, for the synchronous Playwright tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
from cryptography.hazmat.primitives import serialization

from appliance.accounts import Role
from appliance.app import Appliance
from appliance.config.model import ApplianceConfig
from appliance.devices import DeviceRole
from appliance.identity.store import IdentityFiles, provision
from appliance.workflow.operations import OnOperation, no_operation_log
from central.server import Receiver, load_or_create_state
from drivers.errors import DeviceDisconnected
from drivers.sim.documents import counter_scene
from drivers.sim.portrait import PortraitScene, render_portrait

SECRET = b"e2e-device-key-passphrase-0123456789"
CASE_REFERENCE = "AIMA-2026-004217"
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
    #: Runs a coroutine on the kiosk's event loop (set by :class:`WorldThread`).
    call: Callable[..., Any] | None = None

    def password(self, user: str) -> str:
        return ACCOUNTS[user][1]


def _config(
    root: Path, central_port: int, faces: list[Path], scenes: list[Path], **ui: Any
) -> ApplianceConfig:
    finger_delay = float(ui.pop("finger_delay_s", 0.05))
    lift_delay = float(ui.pop("lift_delay_s", 0.0))
    preview_interval = float(ui.pop("preview_interval_s", 0.02))
    return ApplianceConfig.model_validate(
        {
            "site": {"claim_id": "CLAIM-E2E-001", "municipality": "Lisboa", "kiosk_name": "k-e2e"},
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
            "web": {"port": 0},
            "ui": ui,
            "logging": {"level": "INFO", "json_logs": False},
        }
    )


@contextlib.asynccontextmanager
async def kiosk_world(
    root: Path,
    *,
    central_up: bool = True,
    on_operation: OnOperation = no_operation_log,
    **ui: Any,
) -> AsyncIterator[World]:
    """A running, provisioned appliance (see the module docstring).

    ``central_up=False`` stops central once the kiosk is provisioned: every packet
    then stays in the outbox. ``on_operation`` receives the workflow's operations.
    """
    central = load_or_create_state(root / "central", hosts=["127.0.0.1"])
    receiver = Receiver(central)
    port = await receiver.start("127.0.0.1:0")
    try:
        token = secrets.token_hex(8)
        central.store.add_token(token)
        credentials = root / "credentials"
        credentials.mkdir(parents=True, exist_ok=True, mode=0o700)
        (credentials / "device-key-passphrase").write_bytes(SECRET)
        previous = os.environ.get("CREDENTIALS_DIRECTORY")
        os.environ["CREDENTIALS_DIRECTORY"] = str(credentials)  # read once, at start
        files = IdentityFiles(root / "state" / "identity")
        if not files.provisioned():  # a second boot on the same state keeps its identity
            await provision(
                files,
                central=f"127.0.0.1:{receiver.enrol_port}",
                token=token,
                site_id="CLAIM-E2E-001",
                kiosk_name="k-e2e",
                secret=SECRET,
                central_ca_pem=central.ca.certificate.public_bytes(serialization.Encoding.PEM),
            )
        if not central_up:
            await receiver.stop(grace=0)
        scenes = [root / "scene-counter.png"]
        cv2.imwrite(str(scenes[0]), counter_scene(f"AIMA:CASE={CASE_REFERENCE}"))
        faces = [root / f"portrait-{seed}.jpg" for seed in range(4)]
        for seed, path in enumerate(faces):
            portrait = render_portrait(PortraitScene(), 1024, 768, seed=seed)
            cv2.imwrite(str(path), portrait, [cv2.IMWRITE_JPEG_QUALITY, 95])
        app = Appliance(_config(root, port, faces, scenes, **ui), on_operation=on_operation)
        try:
            await app.start()
        finally:
            if previous is None:
                os.environ.pop("CREDENTIALS_DIRECTORY", None)
            else:
                os.environ["CREDENTIALS_DIRECTORY"] = previous
        try:
            assert app.services is not None
            accounts = app.services.accounts
            for name, (role, password, pin, display) in ACCOUNTS.items():
                if name in {a.username for a in accounts.accounts()}:
                    continue
                await asyncio.to_thread(
                    accounts.create, name, role, password, pin=pin, display_name=display
                )
            yield World(app, f"http://127.0.0.1:{app.web_port}", root)
        finally:
            await app.stop()
    finally:
        await receiver.stop(grace=0)
        central.store.close()


def _sim_reader(app: Appliance) -> Any:
    assert app.supervisor is not None
    return app.supervisor._slots[DeviceRole.FINGERPRINT_READER].device


async def unplug_reader(app: Appliance) -> None:
    """The simulated reader is pulled out: it fails and cannot be reopened until replugged."""
    supervisor = app.supervisor
    assert supervisor is not None
    _sim_reader(app).faults.unplug()
    error = DeviceDisconnected("simulated unplug", device_id="sim-reader-0")
    supervisor.report_failure(DeviceRole.FINGERPRINT_READER, error)
    await _sim_reader(app).close()
    await supervisor.tick()


async def replug_reader(app: Appliance) -> None:
    supervisor = app.supervisor
    assert supervisor is not None
    _sim_reader(app).faults.replug()
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
