"""Fingerprint auto-capture: the image is taken once preview quality is stable."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.config.quality import FingerQualityThresholds
from appliance.finger.flow import TenPrintFlow
from drivers.errors import DeviceTimeout
from drivers.interfaces import (
    CaptureKind,
    CaptureRequest,
    CaptureState,
    FingerPosition,
    ReaderEvent,
)
from drivers.preview_gate import PreviewGate, motion, preview_quality
from drivers.sim.config import SimReaderConfig
from drivers.sim.fingerprint_synth import synthesize_finger
from drivers.sim.reader import SimFingerprintReader, SimPresentation

pytestmark = pytest.mark.timeout(120)


def _reader() -> SimFingerprintReader:
    return SimFingerprintReader(
        SimReaderConfig(type="sim", finger_delay_s=0, lift_delay_s=0, preview_interval_s=0)
    )


def test_gate_fires_after_n_steady_frames_and_never_on_blank_or_sliding() -> None:
    finger = synthesize_finger(1, FingerPosition.RIGHT_INDEX)
    gate = PreviewGate(stable_frames=3)
    assert [gate.feed(finger) for _ in range(3)] == [False, False, True]
    blank = np.full_like(finger, 240)
    assert preview_quality(blank) == 0.0
    assert not any(PreviewGate(3).feed(blank) for _ in range(10))
    sliding = PreviewGate(3)
    assert not any(sliding.feed(np.roll(finger, 4 * i, axis=0)) for i in range(10))
    assert motion(finger, np.roll(finger, 4, axis=0)) > motion(finger, finger.copy())


async def test_reader_streams_previews_and_captures_the_settled_frame() -> None:
    reader = _reader()
    await reader.open()
    events: list[ReaderEvent] = []
    try:
        image = await reader.capture(
            CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, stable_frames=3),
            events.append,
        )
    finally:
        await reader.close()
    previews = [e for e in events if e.preview is not None]
    assert len(previews) >= 4 + 3 - 1  # settling frames, then a steady run
    assert all(e.state is CaptureState.CAPTURING for e in previews)
    assert preview_quality(image.pixels) >= max(preview_quality(p.preview) for p in previews[:2])
    assert np.array_equal(image.pixels, previews[-1].preview)


async def test_the_reader_counts_its_preview_clock_for_the_benches() -> None:
    reader = SimFingerprintReader(
        SimReaderConfig(type="sim", finger_delay_s=0, lift_delay_s=0, preview_interval_s=0.005)
    )
    await reader.open()
    events: list[ReaderEvent] = []
    try:
        await reader.capture(
            CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, stable_frames=3),
            events.append,
        )
    finally:
        await reader.close()
    previews = [e for e in events if e.preview is not None]
    # One wait between two previews; the last one is captured at once.
    assert reader.preview_clock_s == pytest.approx(0.005 * (len(previews) - 1))


async def test_finger_that_never_settles_times_out() -> None:
    reader = _reader()
    await reader.open()
    reader.present(SimPresentation(unsteady=True))
    try:
        with pytest.raises(DeviceTimeout):
            await reader.capture(
                CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, stable_frames=3)
            )
    finally:
        await reader.close()


async def test_442_flow_uses_auto_capture() -> None:
    reader = _reader()
    await reader.open()
    previews = 0

    def count(event: ReaderEvent) -> None:
        nonlocal previews
        previews += event.preview is not None

    try:
        flow = TenPrintFlow(reader, FingerQualityThresholds(stable_frames=2), count)
        slap = await flow.capture_slap(CaptureKind.SLAP_RIGHT_FOUR)
    finally:
        await reader.close()
    assert slap.accepted
    assert previews >= 4
