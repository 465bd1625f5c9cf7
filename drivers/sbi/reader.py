"""A MOSIP SBI finger device (slap or single) as a :class:`FingerprintReader`.

One capture is one RCAPTURE ``Finger``:

================  ===========  ================================================
request kind      deviceSubId  bioSubType / exception
================  ===========  ================================================
flat single       1, 2 or 3    that finger (hand or thumbs module)
left four slap    1            the four fingers minus missing ones / the missing
right four slap   2            likewise
two thumbs        3            likewise
================  ===========  ================================================

The service segments slaps itself and returns one ISO 19794-4 image per
finger. :meth:`SbiFingerprintReader.capture_fingers` hands those out as they
are; :meth:`capture` (the protocol method) returns a single finger as is and a
slap as the fingers laid side by side in image order (left to right, as
:data:`drivers.interfaces.SLAP_LAYOUT` orders them) on a blank platen, so
the slap segmenter and NFIQ 2 see what a slap scanner would have produced.

The capture state machine walks idle -> awaiting_finger (request sent) ->
capturing (answer arrived, being verified and decoded) -> awaiting_lift ->
idle; an SBI service handles placement and lift itself.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import numpy as np

from drivers.capture_state import CoreReader, ReaderCore
from drivers.errors import CaptureCancelled, DeviceDisconnected, DeviceError
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
from drivers.sbi import protocol
from drivers.sbi.client import Biometric, Clock, SbiClient, utc_now
from drivers.sbi.config import SbiReaderConfig
from drivers.sbi.errors import SbiProtocolError
from drivers.sbi.iso import decode_bio_value

logger = logging.getLogger(__name__)

_KINDS = frozenset(
    {
        CaptureKind.FLAT_SINGLE,
        CaptureKind.SLAP_LEFT_FOUR,
        CaptureKind.SLAP_RIGHT_FOUR,
        CaptureKind.SLAP_THUMBS,
    }
)
_SLAP_SUB_IDS = {
    CaptureKind.SLAP_LEFT_FOUR: protocol.SUB_LEFT,
    CaptureKind.SLAP_RIGHT_FOUR: protocol.SUB_RIGHT,
    CaptureKind.SLAP_THUMBS: protocol.SUB_THUMBS,
}
_PLATEN_GAP = 48
_PLATEN_GRAY = 235


@dataclass(frozen=True, eq=False)
class SegmentedFinger:
    """One finger as the SBI service segmented and scored it."""

    position: FingerPosition
    pixels: ImageU8
    ppi: int
    quality: float | None  # the device's 0-100 score


def lay_out_slap(fingers: list[SegmentedFinger], order: tuple[FingerPosition, ...]) -> ImageU8:
    """Fingers side by side in ``order`` on a blank platen; missing ones leave a gap."""
    by_position = {f.position: f.pixels for f in fingers}
    height = max((p.shape[0] for p in by_position.values()), default=500)
    slot = max((p.shape[1] for p in by_position.values()), default=400)
    canvas = np.full(
        (height + 2 * _PLATEN_GAP, len(order) * (slot + _PLATEN_GAP) + _PLATEN_GAP),
        _PLATEN_GRAY,
        np.uint8,
    )
    for index, position in enumerate(order):
        pixels = by_position.get(position)
        if pixels is None:
            continue
        h, w = pixels.shape
        x = _PLATEN_GAP + index * (slot + _PLATEN_GAP) + (slot - w) // 2
        y = _PLATEN_GAP + (height - h) // 2
        canvas[y : y + h, x : x + w] = pixels
    return canvas


MAX_CHAINS = 8


class SbiFingerprintReader(CoreReader):
    """Implements :class:`drivers.interfaces.FingerprintReader` over a MOSIP SBI service."""

    def __init__(self, config: SbiReaderConfig, *, clock: Clock = utc_now) -> None:
        self._config = config
        self._client = SbiClient(config, "Finger", clock=clock)
        self._info = DeviceInfo(
            device_id=config.device_id,
            kind=DeviceKind.FINGERPRINT,
            driver="sbi",
            vendor="",
            model="MOSIP SBI finger device",
        )
        self._core = ReaderCore(config.device_id)
        self._cancel = asyncio.Event()
        self._kinds: frozenset[CaptureKind] = frozenset()
        self._single_sub_id: int | None = None  # a single-finger device's only module
        #: The previousHash chain of each recent enrolment (bounded: oldest dropped).
        self._chains: collections.OrderedDict[str, protocol.CaptureChain] = (
            collections.OrderedDict()
        )

    @property
    def supported_kinds(self) -> frozenset[CaptureKind]:
        return self._kinds

    async def open(self) -> None:
        try:
            identity = await self._client.connect()
        except DeviceDisconnected:
            self._core.state = DeviceState.DISCONNECTED
            raise
        except DeviceError:
            self._core.state = DeviceState.ERROR
            raise
        digital = identity.digital_id
        if digital.device_sub_type == "Slap":
            self._kinds, self._single_sub_id = _KINDS, None
        else:  # "Single" or "Touchless": one finger at a time
            self._kinds = frozenset({CaptureKind.FLAT_SINGLE})
            self._single_sub_id = identity.device.sub_ids[0] if identity.device.sub_ids else 0
        self._info = DeviceInfo(
            device_id=self._config.device_id,
            kind=DeviceKind.FINGERPRINT,
            driver="sbi",
            vendor=digital.make,
            model=f"{digital.model} ({digital.device_sub_type}, SBI {identity.version})",
            serial=digital.serial,
            firmware=identity.firmware,
        )
        self._core.state = DeviceState.READY

    async def close(self) -> None:
        await self.cancel()
        self._core.state = DeviceState.CLOSED

    async def cancel(self) -> None:
        self._cancel.set()

    async def capture(
        self, request: CaptureRequest, on_event: ReaderEventCallback | None = None
    ) -> FingerprintImage:
        fingers = await self.capture_fingers(request, on_event)
        if request.kind is CaptureKind.FLAT_SINGLE:
            pixels, ppi = fingers[0].pixels, fingers[0].ppi
        else:
            pixels, ppi = lay_out_slap(fingers, SLAP_LAYOUT[request.kind][1]), fingers[0].ppi
        return FingerprintImage(
            pixels=pixels,
            ppi=ppi,
            kind=request.kind,
            position=request.position,
            timestamp=time.time(),
            device_id=self._info.device_id,
        )

    async def capture_fingers(
        self, request: CaptureRequest, on_event: ReaderEventCallback | None = None
    ) -> list[SegmentedFinger]:
        """Run one capture; return the fingers the service segmented, verified and decoded."""
        self._core.check_ready(request, self._kinds)
        sub_id, wanted, missing = self._plan(request)  # a bad request leaves the reader ready
        self._cancel.clear()
        async with self._core.capturing(request, self._kinds, on_event) as machine:
            biometrics = await self._run_cancellable(
                self._client.rcapture(
                    sub_id=sub_id,
                    sub_types=[protocol.FINGER_NAMES[p] for p in wanted],
                    exceptions=[protocol.FINGER_NAMES[p] for p in missing],
                    requested_score=self._config.requested_score,
                    timeout_s=request.timeout_s,
                    chain=self._chain(request.enrolment_id),
                )
            )
            machine.to(CaptureState.CAPTURING)
            fingers = await asyncio.to_thread(_decode_fingers, biometrics, wanted)
        return fingers

    def _chain(self, enrolment_id: str) -> protocol.CaptureChain | None:
        """One previousHash chain per enrolment, across all its captures."""
        if not enrolment_id:
            return None
        chain = self._chains.get(enrolment_id)
        if chain is None:
            chain = self._chains[enrolment_id] = protocol.CaptureChain()
            while len(self._chains) > MAX_CHAINS:
                self._chains.popitem(last=False)
        self._chains.move_to_end(enrolment_id)
        return chain

    def _plan(
        self, request: CaptureRequest
    ) -> tuple[int, list[FingerPosition], list[FingerPosition]]:
        if request.kind is CaptureKind.FLAT_SINGLE:
            if request.position not in protocol.FINGER_NAMES:
                raise DeviceError("a flat capture needs a single finger position")
            sub_id = self._single_sub_id
            if sub_id is None:
                sub_id = protocol.sub_id_for(request.position)
            return sub_id, [request.position], []
        order = SLAP_LAYOUT[request.kind][1]
        wanted = [p for p in order if p not in request.missing]
        missing = [p for p in order if p in request.missing]
        if not wanted:
            raise DeviceError("every finger of the slap is declared missing")
        return _SLAP_SUB_IDS[request.kind], wanted, missing

    async def _run_cancellable(self, work: Coroutine[Any, Any, list[Biometric]]) -> list[Biometric]:
        task = asyncio.ensure_future(work)
        cancelled = asyncio.ensure_future(self._cancel.wait())
        try:
            await asyncio.wait({task, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancelled.cancel()
            if not task.done():  # cancel() was called, or the caller itself was cancelled
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.cancelled():
            raise CaptureCancelled("capture cancelled", device_id=self._info.device_id)
        return task.result()


def _decode_fingers(
    biometrics: list[Biometric], wanted: list[FingerPosition]
) -> list[SegmentedFinger]:
    fingers = []
    for index, bio in enumerate(biometrics):
        position = protocol.FINGER_BY_NAME.get(bio.bio_sub_type)
        if position is None:  # "UNKNOWN": the service returns fingers in the requested order
            position = wanted[index] if index < len(wanted) else FingerPosition.UNKNOWN
        images = decode_bio_value(bio.iso, face=False)
        if not isinstance(images, list) or len(images) != 1:
            raise SbiProtocolError("expected one finger image per biometric")
        image = images[0]
        fingers.append(SegmentedFinger(position, image.pixels, image.ppi, bio.quality))
    returned = {f.position for f in fingers}
    if returned != set(wanted):
        raise SbiProtocolError("the service returned other fingers than requested")
    return fingers
