"""The device supervisor restarts failed devices within a budget, then gives up visibly."""

from __future__ import annotations

import asyncio

import pytest

from appliance.devices import DeviceRole, DeviceSupervisor, DeviceUnavailable
from drivers.errors import DeviceDisconnected
from drivers.interfaces import CameraControls, DeviceInfo, DeviceKind, DeviceState, Frame


class FlakyCamera:
    """A camera whose open() fails a given number of times."""

    def __init__(self, failures_before_open: int) -> None:
        self.failures_left = failures_before_open
        self.opens = 0
        self._state = DeviceState.CLOSED
        self._info = DeviceInfo("flaky", DeviceKind.CAMERA, "test", "Test", "Flaky")

    @property
    def info(self) -> DeviceInfo:
        return self._info

    @property
    def state(self) -> DeviceState:
        return self._state

    async def open(self) -> None:
        self.opens += 1
        if self.failures_left > 0:
            self.failures_left -= 1
            self._state = DeviceState.DISCONNECTED
            raise DeviceDisconnected("not there")
        self._state = DeviceState.READY

    async def close(self) -> None:
        self._state = DeviceState.CLOSED

    async def read_frame(self, timeout_s: float = 2.0) -> Frame:
        raise DeviceDisconnected("gone")

    async def set_controls(self, controls: CameraControls) -> CameraControls:
        return controls

    def controls(self) -> CameraControls:
        return CameraControls()


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _supervisor(
    devices: dict[DeviceRole, FlakyCamera], budget: int, **kw: object
) -> DeviceSupervisor:
    return DeviceSupervisor(
        devices,  # type: ignore[arg-type]
        restart_budget=budget,
        restart_window_s=60,
        clock=FakeClock(),
        **kw,  # type: ignore[arg-type]
    )


async def test_failed_open_is_retried_until_it_works() -> None:
    camera = FlakyCamera(failures_before_open=2)
    supervisor = _supervisor({DeviceRole.FACE_CAMERA: camera}, budget=5)
    await supervisor.open_all()
    assert camera.state is DeviceState.DISCONNECTED
    await supervisor.tick()
    await supervisor.tick()
    assert camera.state is DeviceState.READY
    assert camera.opens == 3
    [status] = supervisor.statuses()
    assert status.failures == 2
    assert status.restarts_in_window == 2
    assert supervisor.camera() is camera


async def test_budget_exhausted_leaves_device_in_error_until_reset() -> None:
    camera = FlakyCamera(failures_before_open=100)
    supervisor = _supervisor({DeviceRole.FACE_CAMERA: camera}, budget=3)
    await supervisor.open_all()
    for _ in range(4):
        await supervisor.tick()
    assert supervisor.statuses()[0].state is DeviceState.ERROR
    assert camera.opens == 4  # first open + 3 restarts
    status = supervisor.statuses()[0]
    assert status.message_key == "device.restart_budget_exhausted"
    with pytest.raises(DeviceUnavailable) as info:
        supervisor.camera()
    assert info.value.message_key == "device.restart_budget_exhausted"
    await supervisor.tick()
    assert camera.opens == 4  # gave up: no more attempts
    camera.failures_left = 0
    supervisor.reset(DeviceRole.FACE_CAMERA)
    await supervisor.tick()
    assert camera.state is DeviceState.READY


async def test_the_budget_window_slides_with_the_clock() -> None:
    camera = FlakyCamera(failures_before_open=100)
    clock = FakeClock()
    supervisor = DeviceSupervisor(
        {DeviceRole.FACE_CAMERA: camera},  # type: ignore[dict-item]
        restart_budget=2,
        restart_window_s=60,
        clock=clock,
    )
    await supervisor.open_all()
    await supervisor.tick()
    await supervisor.tick()
    clock.now += 61  # the two restarts left the window: two more are allowed
    await supervisor.tick()
    await supervisor.tick()
    assert camera.opens == 5 and supervisor.statuses()[0].state is not DeviceState.ERROR
    await supervisor.tick()
    assert supervisor.statuses()[0].state is DeviceState.ERROR


async def test_supervision_loop_runs_ticks() -> None:
    camera = FlakyCamera(failures_before_open=1)
    supervisor = _supervisor({DeviceRole.FACE_CAMERA: camera}, budget=5, check_interval_s=0.01)
    await supervisor.start()
    try:
        supervisor.report_failure(DeviceRole.FACE_CAMERA, DeviceDisconnected("x"))  # wakes it
        for _ in range(500):
            if camera.state is DeviceState.READY:
                break
            await asyncio.sleep(0.01)
        assert camera.state is DeviceState.READY
    finally:
        await supervisor.stop()


async def test_unconfigured_role_is_unavailable() -> None:
    supervisor = DeviceSupervisor({}, restart_budget=1, restart_window_s=1)
    with pytest.raises(DeviceUnavailable):
        supervisor.reader()


class UsbCamera(FlakyCamera):
    def __init__(self, vid: int, pid: int) -> None:
        super().__init__(0)
        self._info = DeviceInfo(
            "usb-cam", DeviceKind.CAMERA, "opencv", "Acme", "Webcam 9000", usb_vid=vid, usb_pid=pid
        )


async def test_device_missing_from_the_allow_list_is_refused() -> None:
    from appliance.allowlist import DEFAULT_ALLOWLIST, allowlist_verdict, load_approved

    approved = load_approved(DEFAULT_ALLOWLIST)
    unknown = UsbCamera(0x1234, 0x5678)
    known = UsbCamera(0x046D, 0x085E)
    supervisor = _supervisor(
        {DeviceRole.FACE_CAMERA: unknown, DeviceRole.DOCUMENT_CAMERA: known},
        budget=3,
        approve=lambda info: allowlist_verdict(approved, info),
    )
    await supervisor.open_all()
    try:
        await supervisor.tick()
        rows = {s.role: s for s in supervisor.statuses()}
        refused = rows[DeviceRole.FACE_CAMERA]
        assert refused.state is DeviceState.REFUSED
        assert refused.message_key == "device.not_approved"
        assert "1234:5678" in (refused.last_error or "")
        assert unknown.opens == 1  # refused devices are not restarted
        assert rows[DeviceRole.DOCUMENT_CAMERA].state is DeviceState.READY
        with pytest.raises(DeviceUnavailable):
            supervisor.camera(DeviceRole.FACE_CAMERA)
    finally:
        await supervisor.stop()
