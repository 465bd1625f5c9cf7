"""One target's state during a suite run: its reader, its key ring, the last capture."""

from __future__ import annotations

import asyncio
import logging

from appliance.hil.model import CheckFailed, HilTarget
from appliance.hil.signing import DeviceKeyRing
from appliance.hil.targets import prompt_operator
from drivers.errors import DeviceError
from drivers.interfaces import (
    CaptureKind,
    CaptureRequest,
    CaptureState,
    DeviceState,
    FingerPosition,
    FingerprintImage,
    FingerprintReader,
    ReaderEventCallback,
)

logger = logging.getLogger(__name__)


class TargetSession:
    """Holds the open reader of one target across the checks of a run."""

    def __init__(self, target: HilTarget, *, finger_timeout_s: float) -> None:
        self.target = target
        self.finger_timeout_s = finger_timeout_s
        self.keys = DeviceKeyRing()
        self.last_capture: FingerprintImage | None = None
        self.signed: list[str] = []
        self._reader: FingerprintReader | None = None

    async def reader(self) -> FingerprintReader:
        """The target's reader, opened (reopened after a failure)."""
        if self._reader is None:
            self._reader = self.target.make_reader()
        if self._reader.state is not DeviceState.READY:
            await self._reader.open()
        return self._reader

    def adopt(self, reader: FingerprintReader) -> None:
        self._reader = reader

    async def close_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            try:
                await reader.close()
            except DeviceError as exc:
                logger.debug("close failed: %s", exc.detail)

    def request(self, timeout_s: float | None = None) -> CaptureRequest:
        return CaptureRequest(
            CaptureKind.FLAT_SINGLE,
            FingerPosition.RIGHT_INDEX,
            timeout_s=self.finger_timeout_s if timeout_s is None else timeout_s,
        )

    async def capture(self, on_event: ReaderEventCallback | None = None) -> FingerprintImage:
        reader = await self.reader()
        prompt_operator(self.target, "place a finger on the reader")
        image = await reader.capture(self.request(), on_event)
        self.last_capture = image
        return image

    async def a_capture(self) -> FingerprintImage:
        """The last capture, or a new one."""
        return self.last_capture or await self.capture()

    async def wait_for_state(self, state: CaptureState, timeout_s: float = 5.0) -> None:
        reader = await self.reader()
        for _ in range(int(timeout_s / 0.01)):
            if reader.capture_state is state:
                return
            await asyncio.sleep(0.01)
        raise CheckFailed(f"the reader never reached {state}")

    async def aclose(self) -> None:
        await self.close_reader()
        await self.target.aclose()
