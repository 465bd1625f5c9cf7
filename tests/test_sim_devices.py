"""Simulated devices walk the real state machine and inject the faults they promise."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from drivers.capture_state import CaptureStateMachine
from drivers.errors import (
    CaptureCancelled,
    DeviceCorruptData,
    DeviceDisconnected,
    DeviceTimeout,
    InvalidStateTransition,
)
from drivers.interfaces import (
    Camera,
    CaptureKind,
    CaptureRequest,
    CaptureState,
    DeviceState,
    FingerPosition,
    FingerprintReader,
    ReaderEvent,
)
from drivers.registry import create_camera, create_reader
from drivers.sim.camera import SimCamera
from drivers.sim.config import SimCameraConfig, SimReaderConfig
from drivers.sim.faults import FaultConfig
from drivers.sim.reader import SimFingerprintReader, SimPresentation


def _reader(**kwargs: object) -> SimFingerprintReader:
    config = SimReaderConfig.model_validate(
        {"type": "sim", "finger_delay_s": 0, "lift_delay_s": 0, **kwargs}
    )
    reader = create_reader(config)
    assert isinstance(reader, SimFingerprintReader)
    return reader


def test_sim_devices_satisfy_the_protocols() -> None:
    camera = create_camera(SimCameraConfig(type="sim"))
    assert isinstance(camera, Camera)
    assert isinstance(_reader(), FingerprintReader)


async def test_camera_delivers_bgr_frames_in_sequence() -> None:
    camera = SimCamera(SimCameraConfig(type="sim", width=320, height=240, fps=120))
    await camera.open()
    first = await camera.read_frame()
    second = await camera.read_frame()
    assert first.image.shape == (240, 320, 3)
    assert first.image.dtype == np.uint8
    assert second.sequence == first.sequence + 1
    await camera.close()
    assert camera.state is DeviceState.CLOSED


async def test_camera_faults_unplug_timeout_corrupt() -> None:
    camera = SimCamera(
        SimCameraConfig(
            type="sim", width=160, height=120, fps=120, faults=FaultConfig(unplug_after=2)
        )
    )
    await camera.open()
    await camera.read_frame()
    await camera.read_frame()
    with pytest.raises(DeviceDisconnected):
        await camera.read_frame()
    assert camera.state is DeviceState.DISCONNECTED
    for rate, error in (("timeout_rate", DeviceTimeout), ("corrupt_rate", DeviceCorruptData)):
        flaky = SimCamera(
            SimCameraConfig(
                type="sim", width=160, height=120, fps=120, faults=FaultConfig(**{rate: 1.0})
            )
        )
        await flaky.open()
        with pytest.raises(error):
            await flaky.read_frame()


async def test_reader_walks_the_state_machine_for_a_slap() -> None:
    reader = _reader()
    await reader.open()
    events: list[ReaderEvent] = []
    image = await reader.capture(
        CaptureRequest(CaptureKind.SLAP_RIGHT_FOUR, FingerPosition.PLAIN_RIGHT_FOUR),
        events.append,
    )
    assert [e.state for e in events] == [
        CaptureState.AWAITING_FINGER,
        CaptureState.CAPTURING,
        CaptureState.AWAITING_LIFT,
        CaptureState.IDLE,
    ]
    assert image.ppi == 500
    assert image.pixels.ndim == 2
    assert image.pixels.dtype == np.uint8
    assert image.position is FingerPosition.PLAIN_RIGHT_FOUR
    assert reader.capture_state is CaptureState.IDLE
    assert reader.state is DeviceState.READY


async def test_reader_timeout_cancel_and_unplug_return_to_idle() -> None:
    reader = _reader()
    await reader.open()
    reader.present(SimPresentation(no_finger=True))
    with pytest.raises(DeviceTimeout):
        await reader.capture(
            CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, timeout_s=0.05)
        )
    assert reader.capture_state is CaptureState.IDLE

    reader.present(SimPresentation(no_finger=True))
    task = asyncio.create_task(
        reader.capture(CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX))
    )
    await asyncio.sleep(0.05)
    assert reader.capture_state is CaptureState.AWAITING_FINGER
    await reader.cancel()
    with pytest.raises(CaptureCancelled):
        await task
    assert reader.capture_state is CaptureState.IDLE

    reader.faults.unplug()
    with pytest.raises(DeviceDisconnected):
        await reader.capture(CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX))
    assert reader.state is DeviceState.DISCONNECTED
    assert reader.capture_state is CaptureState.IDLE


def test_state_machine_refuses_skipping_the_lift() -> None:
    machine = CaptureStateMachine()
    machine.to(CaptureState.AWAITING_FINGER)
    machine.to(CaptureState.CAPTURING)
    with pytest.raises(InvalidStateTransition):
        machine.to(CaptureState.AWAITING_FINGER)


def test_sim_reader_warm_up_synthesises_its_subject_before_the_first_capture() -> None:
    from drivers.sim import fingerprint_synth

    reader = SimFingerprintReader(SimReaderConfig(type="sim", subject_seed=4242))
    asyncio.run(reader.warm_up())
    before = fingerprint_synth._master.cache_info()
    for position in range(1, 11):
        fingerprint_synth._master(4242, position)
    after = fingerprint_synth._master.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (10, 0)
    assert reader.simulation_s == 0.0  # nothing captured yet: no simulated hardware time
