"""UVC cameras through OpenCV's V4L2 backend.

The camera is opened with the MJPG fourcc at the configured resolution, and
exposure and white balance are locked to manual values so that consecutive
photos are comparable (ICAO illumination checks assume a stable exposure).
Every OpenCV call runs on a worker thread, never on the event loop. OpenCV
is imported only when a camera is opened, so validating a config stays light.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from drivers.errors import DeviceAccessDenied, DeviceCorruptData, DeviceDisconnected, DeviceError
from drivers.interfaces import CameraControls, DeviceInfo, DeviceKind, DeviceState, Frame

logger = logging.getLogger(__name__)


class OpenCvCameraConfig(BaseModel):
    """A UVC camera on V4L2 (``/dev/videoN``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["opencv"] = Field(description="Driver selector: a UVC camera via OpenCV/V4L2.")
    device_id: str = Field(default="camera-0", description="Id shown in the device list.")
    device: Path | int = Field(
        default=0,
        description="V4L2 device path (/dev/video0) or index. Prefer a stable "
        "/dev/v4l/by-id/ path so replugging does not swap cameras.",
    )
    width: int = Field(default=1920, ge=160, le=8192, description="Requested frame width.")
    height: int = Field(default=1080, ge=120, le=8192, description="Requested frame height.")
    fps: float = Field(default=30.0, gt=0, le=120, description="Requested frame rate.")
    mjpg: bool = Field(default=True, description="Ask for MJPG (needed for full HD over USB 2).")
    exposure: float | None = Field(
        default=None,
        description="Manual exposure in V4L2 units (100 µs). Unset keeps auto exposure, "
        "which ICAO capture profiles avoid.",
    )
    white_balance_k: int | None = Field(
        default=None, ge=2000, le=10000, description="Manual white balance in kelvin."
    )
    gain: float | None = Field(default=None, ge=0, description="Manual gain (device units).")


class OpenCvCamera:
    """Implements :class:`drivers.interfaces.Camera` with ``cv2.VideoCapture``."""

    def __init__(self, config: OpenCvCameraConfig) -> None:
        self._config = config
        self._capture: Any = None
        self._state = DeviceState.CLOSED
        self._sequence = 0
        self._controls = CameraControls(
            width=config.width,
            height=config.height,
            fps=config.fps,
            auto_exposure=config.exposure is None,
            exposure=config.exposure,
            auto_white_balance=config.white_balance_k is None,
            white_balance_k=config.white_balance_k,
            gain=config.gain,
        )
        self._info = DeviceInfo(
            device_id=config.device_id,
            kind=DeviceKind.CAMERA,
            driver="opencv",
            vendor="UVC",
            model=str(config.device),
        )

    @property
    def info(self) -> DeviceInfo:
        return self._info

    @property
    def state(self) -> DeviceState:
        return self._state

    def controls(self) -> CameraControls:
        return self._controls

    async def open(self) -> None:
        try:
            self._capture = await asyncio.to_thread(self._open_blocking)
        except DeviceError:
            self._state = DeviceState.DISCONNECTED
            raise
        self._controls = await self.set_controls(self._controls)
        self._state = DeviceState.READY

    def _open_blocking(self) -> Any:
        import cv2

        source = self._config.device
        target = str(source) if isinstance(source, Path) else source
        if isinstance(source, Path) and not source.exists():
            raise DeviceDisconnected(f"{source} does not exist", device_id=self._info.device_id)
        capture = cv2.VideoCapture(target, cv2.CAP_V4L2)
        if not capture.isOpened():
            capture.release()
            raise DeviceAccessDenied(
                f"cannot open {source} (permissions or busy)", device_id=self._info.device_id
            )
        if self._config.mjpg:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        return capture

    async def close(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            await asyncio.to_thread(capture.release)
        self._state = DeviceState.CLOSED

    async def set_controls(self, controls: CameraControls) -> CameraControls:
        if self._capture is None:
            raise DeviceError("camera is not open", device_id=self._info.device_id)
        applied = await asyncio.to_thread(self._apply_blocking, controls)
        self._controls = applied
        return applied

    def _apply_blocking(self, controls: CameraControls) -> CameraControls:
        import cv2

        cap = self._capture
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, controls.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, controls.height)
        cap.set(cv2.CAP_PROP_FPS, controls.fps)
        # V4L2 auto exposure: 1 = manual, 3 = aperture priority (auto).
        cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, 3 if controls.auto_exposure else 1)
        if not controls.auto_exposure and controls.exposure is not None:
            cap.set(cv2.CAP_PROP_EXPOSURE, controls.exposure)
        cap.set(cv2.CAP_PROP_AUTO_WB, 1 if controls.auto_white_balance else 0)
        if not controls.auto_white_balance and controls.white_balance_k is not None:
            cap.set(cv2.CAP_PROP_WB_TEMPERATURE, controls.white_balance_k)
        if controls.gain is not None:
            cap.set(cv2.CAP_PROP_GAIN, controls.gain)
        return CameraControls(
            width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) or controls.width,
            height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) or controls.height,
            fps=float(cap.get(cv2.CAP_PROP_FPS)) or controls.fps,
            auto_exposure=controls.auto_exposure,
            exposure=controls.exposure,
            auto_white_balance=controls.auto_white_balance,
            white_balance_k=controls.white_balance_k,
            gain=controls.gain,
        )

    async def read_frame(self, timeout_s: float = 2.0) -> Frame:
        if self._capture is None:
            raise DeviceError("camera is not open", device_id=self._info.device_id)
        try:
            ok, image = await asyncio.wait_for(asyncio.to_thread(self._capture.read), timeout_s)
        except TimeoutError:
            from drivers.errors import DeviceTimeout

            raise DeviceTimeout("no frame in time", device_id=self._info.device_id) from None
        if not ok or image is None:
            self._state = DeviceState.DISCONNECTED
            raise DeviceDisconnected(
                "camera stopped delivering frames", device_id=self._info.device_id
            )
        if image.ndim != 3 or image.shape[2] != 3:
            raise DeviceCorruptData("frame is not 3-channel", device_id=self._info.device_id)
        self._sequence += 1
        return Frame(np.asarray(image, dtype=np.uint8), self._sequence, time.monotonic())
