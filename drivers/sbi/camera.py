"""A MOSIP SBI face device as a :class:`Camera`: STREAM preview frames, RCAPTURE still.

:meth:`SbiCamera.open` finds and verifies the device, then starts the STREAM
(M-JPEG) in a background task that keeps only the newest frame: a slow
consumer sees fresh frames, never a backlog. :meth:`read_frame` returns the
next one. The preview is unsigned by design of the specification, so it is
for guidance only; the image that goes into an enrolment comes from
:meth:`capture_still`, a signed and verified RCAPTURE ``Face`` (ISO 19794-5).

SBI exposes no camera controls: :meth:`set_controls` records the request and
returns the controls in force, whose size is that of the frames received.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import cv2
import numpy as np

from drivers.errors import DeviceCorruptData, DeviceDisconnected, DeviceError, DeviceTimeout
from drivers.image_header import (
    FRAME_MAX_PIXELS,
    ImageHeaderError,
    check_decoded,
    check_image_bytes,
)
from drivers.interfaces import CameraControls, DeviceInfo, DeviceKind, DeviceState, Frame, ImageU8
from drivers.sbi.client import Clock, SbiClient, stream_error, utc_now
from drivers.sbi.config import SbiCameraConfig
from drivers.sbi.errors import SbiProtocolError
from drivers.sbi.http import HttpStream
from drivers.sbi.iso import decode_bio_value
from drivers.sbi.mjpeg import MultipartReader, boundary_of

logger = logging.getLogger(__name__)

FACE_SUB_ID = 0


def _decode_jpeg(data: bytes) -> ImageU8:
    """A stream frame: its size read from the header before it is decoded."""
    try:
        header = check_image_bytes(data, max_pixels=FRAME_MAX_PIXELS)
    except ImageHeaderError as exc:
        raise DeviceCorruptData(f"stream frame refused: {exc}") from None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise DeviceCorruptData("stream frame is not a JPEG")
    try:
        check_decoded(image, header)
    except ImageHeaderError as exc:
        raise DeviceCorruptData(f"stream frame refused: {exc}") from None
    return np.asarray(image, dtype=np.uint8)


class SbiCamera:
    """Implements :class:`drivers.interfaces.Camera` over a MOSIP SBI face device."""

    def __init__(self, config: SbiCameraConfig, *, clock: Clock = utc_now) -> None:
        self._config = config
        self._client = SbiClient(config, "Face", clock=clock)
        self._info = DeviceInfo(
            device_id=config.device_id,
            kind=DeviceKind.CAMERA,
            driver="sbi",
            vendor="",
            model="MOSIP SBI face device",
        )
        self._state = DeviceState.CLOSED
        self._controls = CameraControls()
        self._frames: asyncio.Queue[Frame] = asyncio.Queue(maxsize=1)
        self._task: asyncio.Task[None] | None = None
        self._failure: DeviceError | None = None
        self._sequence = 0

    @property
    def info(self) -> DeviceInfo:
        return self._info

    @property
    def state(self) -> DeviceState:
        return self._state

    def controls(self) -> CameraControls:
        return self._controls

    async def set_controls(self, controls: CameraControls) -> CameraControls:
        logger.debug("SBI cameras take no controls; keeping the device's own")
        return self._controls

    async def open(self) -> None:
        if self._task is not None and not self._task.done():
            return  # already streaming
        try:
            identity = await self._client.connect()
        except DeviceDisconnected:
            self._state = DeviceState.DISCONNECTED
            raise
        except DeviceError:
            self._state = DeviceState.ERROR
            raise
        digital = identity.digital_id
        self._info = DeviceInfo(
            device_id=self._config.device_id,
            kind=DeviceKind.CAMERA,
            driver="sbi",
            vendor=digital.make,
            model=f"{digital.model} (SBI {identity.version})",
            serial=digital.serial,
            firmware=identity.firmware,
        )
        await self._start_stream()
        self._state = DeviceState.READY

    async def _start_stream(self) -> None:
        stream = await self._client.open_stream(
            sub_id=FACE_SUB_ID, timeout_s=self._config.stream_timeout_s
        )
        self._failure = None
        self._task = asyncio.create_task(self._pump(stream), name="sbi-stream")

    async def _pump(self, stream: HttpStream) -> None:
        """Feed frames; when the service ends a stream (its STREAM timeout), start another."""
        try:
            while True:
                try:
                    frames = await self._read_frames(stream)
                finally:
                    await stream.close()
                if frames == 0:
                    raise DeviceDisconnected("the SBI stream ended without a frame")
                logger.debug("SBI stream ended after %d frames; starting a new one", frames)
                stream = await self._client.open_stream(
                    sub_id=FACE_SUB_ID, timeout_s=self._config.stream_timeout_s
                )
        except DeviceError as exc:
            self._failure = exc
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            self._failure = DeviceDisconnected(f"the SBI stream broke: {exc}")

    async def _read_frames(self, stream: HttpStream) -> int:
        parts = MultipartReader(stream.reader, boundary_of(stream.headers["content-type"]))
        frames = 0
        while (part := await parts.next_part()) is not None:
            headers, body = part
            if headers.get("content-type", "image/jpeg").lower().startswith("application/json"):
                raise stream_error(body)  # a service reporting an error inside the stream
            image = await asyncio.to_thread(_decode_jpeg, body)
            self._offer(Frame(image=image, sequence=self._sequence, timestamp=time.monotonic()))
            self._sequence += 1
            frames += 1
        return frames

    def _offer(self, frame: Frame) -> None:
        if self._frames.full():
            self._frames.get_nowait()  # drop the stale frame
        self._frames.put_nowait(frame)
        height, width = frame.image.shape[:2]
        if (width, height) != (self._controls.width, self._controls.height):
            self._controls = CameraControls(width=width, height=height, fps=self._controls.fps)

    async def read_frame(self, timeout_s: float = 2.0) -> Frame:
        if self._state in (DeviceState.CLOSED, DeviceState.DISCONNECTED):
            raise DeviceError(f"camera is {self._state}", device_id=self._info.device_id)
        if self._frames.empty() and self._failure is not None:
            self._state = (
                DeviceState.DISCONNECTED
                if isinstance(self._failure, DeviceDisconnected)
                else DeviceState.ERROR
            )
            raise self._failure
        try:
            return await asyncio.wait_for(self._frames.get(), timeout=timeout_s)
        except TimeoutError:
            if self._failure is not None:
                raise self._failure from None
            raise DeviceTimeout(
                f"no stream frame within {timeout_s:g} s", device_id=self._info.device_id
            ) from None

    async def capture_still(self, timeout_s: float | None = None) -> Frame:
        """A signed RCAPTURE ``Face`` still (BGR), verified like every SBI capture."""
        if self._state is DeviceState.CLOSED:
            raise DeviceError("camera is not open", device_id=self._info.device_id)
        await self._stop_stream()  # the device pauses the preview during RCAPTURE anyway
        try:
            biometrics = await self._client.rcapture(
                sub_id=FACE_SUB_ID,
                sub_types=[],
                exceptions=[],
                requested_score=0,
                timeout_s=timeout_s or self._config.capture_timeout_s,
            )
            image = await asyncio.to_thread(decode_bio_value, biometrics[0].iso, face=True)
            if isinstance(image, list) or image.ndim != 3:
                raise SbiProtocolError("face record does not hold a colour image")
            return Frame(image=image, sequence=self._sequence, timestamp=time.monotonic())
        finally:
            await self._resume_stream()

    async def _resume_stream(self) -> None:
        try:
            await self._start_stream()
        except DeviceError as exc:  # read_frame reports it; keep the still's own outcome
            logger.warning("SBI preview did not restart: %s", exc.detail)
            self._failure = exc

    async def _stop_stream(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while not self._frames.empty():
            self._frames.get_nowait()

    async def close(self) -> None:
        await self._stop_stream()
        self._state = DeviceState.CLOSED
