"""A reader behind a vendor library with the ``vsdk`` C ABI, as a :class:`FingerprintReader`.

Every call into the library except ``vsdk_cancel`` runs on one worker thread
owned by the reader (many SDKs are bound to the thread that opened the
device); ``vsdk_cancel`` is documented thread-safe and is called from another
thread while a capture blocks. The event loop never blocks.

A capture walks idle -> awaiting_finger (``vsdk_capture`` blocks while the
applicant places the finger) -> capturing (image received, being checked and
resampled) -> awaiting_lift -> idle. A corrupt transfer is captured again up
to ``corrupt_retries`` times; an unplug turns the reader ``disconnected`` and
the next :meth:`VendorSdkReader.open` reopens the device.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import time
from collections.abc import Callable
from typing import TypeVar

import cv2
import numpy as np

from drivers.capture_state import CoreReader, ReaderCore
from drivers.errors import CaptureCancelled, DeviceCorruptData, DeviceDisconnected, DeviceError
from drivers.interfaces import (
    SLAP_LAYOUT,
    CaptureKind,
    CaptureRequest,
    CaptureState,
    DeviceInfo,
    DeviceKind,
    DeviceState,
    FingerPosition,
    FingerprintImage,
    ImageU8,
    ReaderEventCallback,
)
from drivers.vendor_sdk import abi
from drivers.vendor_sdk.config import VendorSdkReaderConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")

_KINDS_BY_CAPABILITY = {
    abi.CAP_FLAT_SINGLE: (CaptureKind.FLAT_SINGLE,),
    abi.CAP_ROLLED_SINGLE: (CaptureKind.ROLLED_SINGLE,),
    abi.CAP_FOUR_SLAP: (CaptureKind.SLAP_LEFT_FOUR, CaptureKind.SLAP_RIGHT_FOUR),
    abi.CAP_TWO_THUMBS: (CaptureKind.SLAP_THUMBS,),
}
_CANCEL_ATTEMPTS = 40
_CANCEL_PAUSE_S = 0.05
_SINGLE_FINGERS = range(FingerPosition.RIGHT_THUMB, FingerPosition.LEFT_LITTLE + 1)


def finger_mask(request: CaptureRequest) -> int:
    """The ``vsdk_capture`` finger mask of a request (missing fingers left out)."""
    if request.kind in (CaptureKind.FLAT_SINGLE, CaptureKind.ROLLED_SINGLE):
        if request.position not in _SINGLE_FINGERS:
            raise DeviceError("a single-finger capture needs a single finger position")
        rolled = abi.ROLLED if request.kind is CaptureKind.ROLLED_SINGLE else 0
        return (1 << int(request.position)) | rolled
    fingers = [p for p in SLAP_LAYOUT[request.kind][1] if p not in request.missing]
    if not fingers:
        raise DeviceError("every finger of the slap is declared missing")
    return functools.reduce(lambda mask, p: mask | (1 << int(p)), fingers, 0)


class VendorSdkReader(CoreReader):
    """Implements :class:`drivers.interfaces.FingerprintReader` over a vsdk library."""

    def __init__(self, config: VendorSdkReaderConfig) -> None:
        self._config = config
        self._library: abi.VsdkLibrary | None = None
        self._handle: abi.Handle | None = None
        self._worker = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"vsdk-{config.device_id}"
        )
        self._sdk_info: abi.SdkDeviceInfo | None = None
        self._info = DeviceInfo(
            device_id=config.device_id,
            kind=DeviceKind.FINGERPRINT,
            driver="vendor_sdk",
            vendor="",
            model="vendor SDK reader",
        )
        self._core = ReaderCore(config.device_id)
        self._capture_done = asyncio.Event()
        self._capture_done.set()
        self._cancel_requested = False

    @property
    def supported_kinds(self) -> frozenset[CaptureKind]:
        if self._sdk_info is None:
            return frozenset()
        caps = self._sdk_info.capabilities
        return frozenset(
            k for bit, kinds in _KINDS_BY_CAPABILITY.items() if caps & bit for k in kinds
        )

    async def _call(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, functools.partial(function, *args))

    async def open(self) -> None:
        if self._handle is not None:
            return
        try:
            if self._library is None:
                self._library = await self._call(abi.load_library, self._config.library_path)
            library = self._library
            handle = await self._call(library.open, self._config.device_index)
            try:
                info = await self._call(library.info, handle)
            except BaseException:
                await self._call(library.close, handle)
                raise
        except DeviceDisconnected:
            self._core.state = DeviceState.DISCONNECTED
            raise
        except DeviceError:
            self._core.state = DeviceState.ERROR
            raise
        self._handle, self._sdk_info = handle, info
        self._info = DeviceInfo(
            device_id=self._config.device_id,
            kind=DeviceKind.FINGERPRINT,
            driver="vendor_sdk",
            vendor=info.vendor,
            model=info.model,
            serial=info.serial,
            firmware=info.firmware,
            usb_vid=info.usb_vid or None,
            usb_pid=info.usb_pid or None,
        )
        self._core.state = DeviceState.READY
        logger.info("vendor SDK reader %s open (%s)", self._config.device_id, info.model)

    async def close(self) -> None:
        await self.cancel()
        if self._handle is not None and self._library is not None:
            handle, self._handle = self._handle, None
            try:
                await self._call(self._library.close, handle)
            except DeviceError as exc:
                logger.warning("vsdk_close failed: %s", exc.detail)
        self._core.state = DeviceState.CLOSED

    async def cancel(self) -> None:
        """Abort a running capture; it raises :class:`drivers.errors.CaptureCancelled`."""
        if self._capture_done.is_set() or self._handle is None or self._library is None:
            return
        self._cancel_requested = True
        # vsdk_cancel is a no-op until the worker is inside vsdk_capture: repeat until it ends.
        for _ in range(_CANCEL_ATTEMPTS):
            await asyncio.to_thread(self._library.cancel, self._handle)  # not on the worker
            try:
                await asyncio.wait_for(self._capture_done.wait(), timeout=_CANCEL_PAUSE_S)
                return
            except TimeoutError:
                continue
        logger.warning("vendor SDK did not end the capture after vsdk_cancel")

    async def capture(
        self, request: CaptureRequest, on_event: ReaderEventCallback | None = None
    ) -> FingerprintImage:
        if self._handle is None:
            raise DeviceError(f"reader is {self._core.state}", device_id=self._info.device_id)
        mask = finger_mask(request)
        async with self._core.capturing(
            request, self.supported_kinds, on_event, on_disconnect=self._drop_handle
        ) as machine:
            raw = await self._capture_raw(mask, request.timeout_s)
            machine.to(CaptureState.CAPTURING)
            pixels, ppi = await asyncio.to_thread(self._to_image, raw)
        return FingerprintImage(
            pixels=pixels,
            ppi=ppi,
            kind=request.kind,
            position=request.position,
            timestamp=time.time(),
            device_id=self._info.device_id,
        )

    async def _capture_raw(self, mask: int, timeout_s: float) -> abi.RawImage:
        assert self._library is not None and self._handle is not None and self._sdk_info
        size = self._sdk_info.max_width * self._sdk_info.max_height
        attempts = 0
        self._cancel_requested = False
        self._capture_done.clear()
        try:
            while True:
                try:
                    raw = await self._call(
                        self._library.capture, self._handle, mask, int(timeout_s * 1000), size
                    )
                    if self._cancel_requested:  # the image arrived as the operator cancelled
                        raise CaptureCancelled("capture cancelled")
                    return raw
                except abi.BufferTooSmall as exc:
                    if exc.width * exc.height <= size:
                        raise DeviceCorruptData("vsdk asks for a buffer it already got") from None
                    size = exc.width * exc.height
                except DeviceCorruptData:
                    attempts += 1
                    if attempts > self._config.corrupt_retries or self._cancel_requested:
                        raise
                    logger.info("vendor SDK transfer failed; capturing again (%d)", attempts)
        finally:
            self._capture_done.set()

    def _to_image(self, raw: abi.RawImage) -> tuple[ImageU8, int]:
        pixels = np.frombuffer(raw.data, np.uint8).reshape(raw.height, raw.width).copy()
        if self._config.output_ppi == "native" or raw.ppi == 500:
            return pixels, raw.ppi
        scale = 500 / raw.ppi
        size = (round(raw.width * scale), round(raw.height * scale))
        resized = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
        return np.asarray(resized, dtype=np.uint8), 500

    async def _drop_handle(self) -> None:
        """After an unplug the handle is dead: close it so a later open starts clean."""
        if self._handle is not None and self._library is not None:
            handle, self._handle = self._handle, None
            try:
                await self._call(self._library.close, handle)
            except DeviceError as exc:
                logger.debug("vsdk_close after unplug: %s", exc.detail)

    def __del__(self) -> None:
        self._worker.shutdown(wait=False)
