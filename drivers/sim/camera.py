"""Simulated cameras: a rendered portrait scene and a player of image files.

``SimCamera`` renders a frontal portrait with controllable defects (pose,
distance, lighting, blur) through :func:`drivers.sim.portrait.render_portrait`
so that the face-quality engine and live guidance can be exercised end to end.
``FileCamera`` plays a list of image files in a loop.

Both pace frames at the configured rate, read off the event loop, and inject
the faults of :class:`drivers.sim.faults.FaultConfig`.
"""

from __future__ import annotations

import asyncio
import logging
import time

import cv2
import numpy as np

from drivers.errors import DeviceCorruptData, DeviceDisconnected, DeviceError
from drivers.interfaces import CameraControls, DeviceInfo, DeviceKind, DeviceState, Frame, ImageU8
from drivers.sim.config import FileCameraConfig, SimCameraConfig
from drivers.sim.faults import FaultConfig, FaultInjector
from drivers.sim.portrait import PortraitScene, render_portrait

logger = logging.getLogger(__name__)


class _PacedCamera:
    """Shared pacing, state and fault handling of the simulated cameras."""

    def __init__(self, info: DeviceInfo, fps: float, faults: FaultConfig) -> None:
        self._info = info
        self._period = 1.0 / fps
        self._faults = FaultInjector(faults, info.device_id)
        self._state = DeviceState.CLOSED
        self._sequence = 0
        self._next_due = 0.0
        self._controls = CameraControls(fps=fps)

    @property
    def info(self) -> DeviceInfo:
        return self._info

    @property
    def state(self) -> DeviceState:
        return self._state

    @property
    def faults(self) -> FaultInjector:
        """The fault injector, for tests that unplug or replug the device."""
        return self._faults

    async def open(self) -> None:
        if self._faults.unplugged:
            self._state = DeviceState.DISCONNECTED
            raise DeviceDisconnected(
                "simulated camera is unplugged", device_id=self._info.device_id
            )
        self._state = DeviceState.READY
        self._next_due = time.monotonic()

    async def close(self) -> None:
        self._state = DeviceState.CLOSED

    def controls(self) -> CameraControls:
        return self._controls

    async def set_controls(self, controls: CameraControls) -> CameraControls:
        self._controls = controls
        self._period = 1.0 / controls.fps
        return controls

    async def read_frame(self, timeout_s: float = 2.0) -> Frame:
        if self._state is DeviceState.CLOSED:
            raise DeviceError("camera is not open", device_id=self._info.device_id)
        now = time.monotonic()
        delay = self._next_due - now
        if delay > timeout_s:
            delay = timeout_s
        if delay > 0:
            await asyncio.sleep(delay)
        self._next_due = max(self._next_due + self._period, time.monotonic())
        try:
            self._faults.before_read()
        except DeviceDisconnected:
            self._state = DeviceState.DISCONNECTED
            raise
        sequence = self._sequence
        self._sequence += 1  # a bad frame is skipped, not retried forever
        exposed = time.monotonic()  # the scene as it is now, however long the rendering takes
        image = await asyncio.to_thread(self._render, sequence)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise DeviceCorruptData("frame is not 8-bit BGR", device_id=self._info.device_id)
        return Frame(image=image, sequence=sequence, timestamp=exposed)

    def _render(self, sequence: int) -> ImageU8:
        raise NotImplementedError


class SimCamera(_PacedCamera):
    """Renders a portrait scene; tests and the demo change it with :meth:`set_scene`."""

    def __init__(self, config: SimCameraConfig) -> None:
        super().__init__(
            DeviceInfo(
                device_id=config.device_id,
                kind=DeviceKind.CAMERA,
                driver="sim",
                vendor="Simulated",
                model="Portrait scene camera",
                serial=f"SIM-{config.seed:04d}",
                firmware="sim-1",
                simulated=True,
            ),
            config.fps,
            config.faults,
        )
        self._config = config
        self._scene = PortraitScene()
        self._controls = CameraControls(width=config.width, height=config.height, fps=config.fps)

    @property
    def scene(self) -> PortraitScene:
        return self._scene

    def set_scene(self, scene: PortraitScene) -> None:
        """Change what the camera sees from the next frame on."""
        self._scene = scene

    def _render(self, sequence: int) -> ImageU8:
        c = self._controls
        return render_portrait(self._scene, c.width, c.height, seed=self._config.seed + sequence)


class FileCamera(_PacedCamera):
    """Plays image files as frames."""

    def __init__(self, config: FileCameraConfig) -> None:
        super().__init__(
            DeviceInfo(
                device_id=config.device_id,
                kind=DeviceKind.CAMERA,
                driver="file",
                vendor="Simulated",
                model="Image file player",
                simulated=True,
            ),
            config.fps,
            config.faults,
        )
        self._config = config

    def _render(self, sequence: int) -> ImageU8:
        paths = self._config.paths
        if not self._config.loop and sequence >= len(paths):
            raise DeviceDisconnected("file camera reached the end", device_id=self._info.device_id)
        path = paths[sequence % len(paths)]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise DeviceCorruptData(f"cannot decode {path.name}", device_id=self._info.device_id)
        return np.asarray(image, dtype=np.uint8)
