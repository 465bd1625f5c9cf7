"""A simulated fingerprint reader producing synthetic 500 ppi prints and slaps.

It walks the same capture state machine as a real reader and emits the same
events. What the "applicant" presents next is scripted with
:meth:`SimFingerprintReader.present` (defects, touching fingers, the wrong
hand, missing fingers); without a script it presents good prints of one
synthetic subject. Prints come from :mod:`drivers.sim.fingerprint_synth`.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from drivers.capture_state import CoreReader, ReaderCore
from drivers.errors import CaptureCancelled, DeviceDisconnected, DeviceTimeout
from drivers.interfaces import (
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
from drivers.preview_gate import PreviewGate
from drivers.sim.config import SimReaderConfig
from drivers.sim.faults import FaultInjector
from drivers.sim.fingerprint_synth import (
    FingerDefects,
    prepare_subject,
    slap_size,
    synthesize_finger,
    synthesize_slap,
)

logger = logging.getLogger(__name__)

_ALL_KINDS = frozenset(CaptureKind)


@dataclass(frozen=True)
class SimPresentation:
    """What the simulated applicant puts on the glass for one capture."""

    defects: FingerDefects = field(default_factory=FingerDefects)
    touching: bool = False
    #: Present this slap instead of the requested one (e.g. the wrong hand).
    present_kind: CaptureKind | None = None
    #: Fingers physically absent from the slap.
    missing: frozenset[FingerPosition] = frozenset()
    #: Another applicant's fingers (for sequence and identity checks).
    subject_seed: int | None = None
    #: Never place a finger: the capture times out.
    no_finger: bool = False
    #: Keep sliding on the glass: previews never settle, auto-capture times out.
    unsteady: bool = False


class SimFingerprintReader(CoreReader):
    """Implements :class:`drivers.interfaces.FingerprintReader` with synthetic prints."""

    def __init__(self, config: SimReaderConfig) -> None:
        self._config = config
        self._info = DeviceInfo(
            device_id=config.device_id,
            kind=DeviceKind.FINGERPRINT,
            driver="sim",
            vendor="Simulated",
            model="Ten-print slap reader (500 ppi)",
            serial=f"SIMFP-{config.subject_seed:04d}",
            firmware="sim-1",
            simulated=True,
        )
        self._core = ReaderCore(config.device_id)
        self._faults = FaultInjector(config.faults, config.device_id)
        self._script: collections.deque[SimPresentation] = collections.deque()
        self._impressions: collections.Counter[tuple[int, CaptureKind, FingerPosition]] = (
            collections.Counter()
        )
        self._cancel = asyncio.Event()
        self._simulation_s = 0.0
        self._preview_clock_s = 0.0

    @property
    def supported_kinds(self) -> frozenset[CaptureKind]:
        return _ALL_KINDS

    @property
    def faults(self) -> FaultInjector:
        """The fault injector, for tests that unplug or replug the device."""
        return self._faults

    def present(self, *presentations: SimPresentation) -> None:
        """Script what the next captures receive, in order."""
        self._script.extend(presentations)

    async def open(self) -> None:
        if self._faults.unplugged:
            self._core.state = DeviceState.DISCONNECTED
            raise DeviceDisconnected(
                "simulated reader is unplugged", device_id=self._info.device_id
            )
        self._core.state = DeviceState.READY

    async def warm_up(self) -> None:
        """The subject's ten ridge patterns and the preview noise now, not in the first slap."""
        await asyncio.to_thread(prepare_subject, self._config.subject_seed)
        for kind in (CaptureKind.SLAP_RIGHT_FOUR, CaptureKind.SLAP_THUMBS):
            width, height = slap_size(kind)
            await asyncio.to_thread(_noise, height, width)

    async def close(self) -> None:
        await self.cancel()
        self._core.state = DeviceState.CLOSED

    async def cancel(self) -> None:
        self._cancel.set()

    async def capture(
        self, request: CaptureRequest, on_event: ReaderEventCallback | None = None
    ) -> FingerprintImage:
        self._cancel.clear()
        async with self._core.capturing(request, _ALL_KINDS, on_event) as machine:
            presentation = self._script.popleft() if self._script else SimPresentation()
            if presentation.no_finger:
                await self._wait(request.timeout_s)
                raise DeviceTimeout("no finger was placed in time", device_id=self._info.device_id)
            await self._wait(min(self._config.finger_delay_s, request.timeout_s))
            self._faults.before_read()
            machine.to(CaptureState.CAPTURING)
            pixels = await asyncio.to_thread(self._timed, self._synthesize, request, presentation)
            if request.stable_frames > 0:
                pixels = await self._settle(pixels, request, presentation)
            machine.to(CaptureState.AWAITING_LIFT)
            await self._wait(self._config.lift_delay_s)
        return FingerprintImage(
            pixels=pixels,
            ppi=500,
            kind=request.kind,
            position=request.position,
            timestamp=time.time(),
            device_id=self._info.device_id,
        )

    async def _settle(
        self, final: ImageU8, request: CaptureRequest, presentation: SimPresentation
    ) -> ImageU8:
        """Stream previews of the finger settling on the glass until the gate fires.

        Contact (ridge contrast) builds up over the first frames while the finger
        still slides a few pixels; then it rests. An unsteady presentation keeps
        sliding, so the gate never fires and the capture times out.
        """
        gate = PreviewGate(request.stable_frames)
        for frame in range(MAX_PREVIEWS):
            settled = frame >= SETTLE_FRAMES and not presentation.unsteady
            if settled:
                preview = final
            else:
                contact = min(1.0, 0.3 + 0.2 * frame) if not presentation.unsteady else 0.5
                slide = (SETTLE_FRAMES - frame) * 3 if not presentation.unsteady else 6 + frame % 7
                preview = await asyncio.to_thread(
                    self._timed, _partial_contact, final, contact, slide, frame
                )
            self._core.machine.preview(preview)
            if await asyncio.to_thread(gate.feed, preview):  # off the event loop: 2.4 MP
                return preview
            await self._wait(self._config.preview_interval_s)
            self._preview_clock_s += self._config.preview_interval_s
        raise DeviceTimeout(
            "the finger did not settle on the glass", device_id=self._info.device_id
        )

    @property
    def simulation_s(self) -> float:
        """CPU time spent simulating the hardware (synthesising prints and previews).

        A physical reader does this work in its own optics and firmware; benchmarks
        report it apart from the appliance's software time.
        """
        return self._simulation_s

    @property
    def preview_clock_s(self) -> float:
        """Time spent waiting for the next preview frame at ``preview_interval_s``.

        A physical reader streams previews at its own frame rate; benchmarks count
        these waits with the applicant's (as the face camera's frame rate), not as
        the appliance's software time.
        """
        return self._preview_clock_s

    def _timed(self, work: Callable[..., ImageU8], *args: Any) -> ImageU8:
        started = time.thread_time()
        try:
            return work(*args)
        finally:
            self._simulation_s += time.thread_time() - started

    async def _wait(self, seconds: float) -> None:
        """Sleep, but wake up and raise when the capture is cancelled."""
        try:
            await asyncio.wait_for(self._cancel.wait(), timeout=seconds)
        except TimeoutError:
            return
        raise CaptureCancelled("capture cancelled", device_id=self._info.device_id)

    def _synthesize(self, request: CaptureRequest, p: SimPresentation) -> ImageU8:
        subject = self._config.subject_seed if p.subject_seed is None else p.subject_seed
        kind = p.present_kind or request.kind
        key = (subject, kind, request.position)
        impression = self._impressions[key]
        self._impressions[key] += 1
        if kind in (CaptureKind.FLAT_SINGLE, CaptureKind.ROLLED_SINGLE):
            return synthesize_finger(subject, request.position, impression, p.defects)
        slap = synthesize_slap(
            subject,
            kind,
            impression,
            missing=p.missing | request.missing,
            defects=p.defects,
            touching=p.touching,
        )
        return slap.pixels


MAX_PREVIEWS = 40
SETTLE_FRAMES = 4


def _partial_contact(final: ImageU8, contact: float, slide: int, seed: int) -> ImageU8:
    """The print with weaker contact (lighter ridges), shifted by ``slide`` pixels.

    ``255 - (255 - x) * contact`` plus sensor noise (σ 3 grey levels), all in
    saturating 8-bit OpenCV passes: the noise field is made once per image shape
    and each frame reads it from its own row offset.
    """
    faded = cv2.convertScaleAbs(final, alpha=contact, beta=255.0 * (1.0 - contact))
    brighter, darker = _noise(final.shape[0], final.shape[1])
    rows = slice(seed % NOISE_ROWS, seed % NOISE_ROWS + final.shape[0])
    noisy = cv2.subtract(cv2.add(faded, brighter[rows]), darker[rows])
    return np.roll(noisy, slide, axis=0)


NOISE_ROWS = 64


@functools.lru_cache(maxsize=2)  # a four-finger slap's shape and the thumbs'
def _noise(height: int, width: int) -> tuple[ImageU8, ImageU8]:
    """Gaussian sensor noise (σ 3) as what it adds and what it takes away, in 8 bits."""
    noise = np.random.default_rng(0).standard_normal((height + NOISE_ROWS, width))
    levels = np.rint(noise * 3.0).astype(np.int16)
    return (
        np.clip(levels, 0, 255).astype(np.uint8),
        np.clip(-levels, 0, 255).astype(np.uint8),
    )
