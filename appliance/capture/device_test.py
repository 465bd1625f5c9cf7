"""The technician's device test: exercise each device briefly, never capture or seal.

A device the supervisor gave up on is reset first and given one supervision
tick to reopen. Cameras read a burst of frames (rate, resolution, brightness);
readers run their own self-test when the driver has one, else report whether
they are ready and idle.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from appliance.capture.devices import DeviceAccess
from appliance.capture.errors import CaptureError
from appliance.devices import DeviceRole
from drivers.interfaces import CaptureState, DeviceState

logger = logging.getLogger(__name__)

SELF_TEST_FRAMES = 10
RESET_SETTLE_S = 1.2  # one supervision tick


@dataclass(frozen=True)
class DeviceTestResult:
    role: DeviceRole
    ok: bool
    message_key: str
    ms: int
    detail: dict[str, Any] = field(default_factory=dict)


async def test_devices(devices: DeviceAccess) -> list[DeviceTestResult]:
    results = []
    for row in devices.supervisor.statuses():
        if row.state is DeviceState.ERROR:
            devices.supervisor.reset(row.role)
            await asyncio.sleep(RESET_SETTLE_S)
        started = time.monotonic()
        detail: dict[str, Any] = {}
        try:
            if row.role is DeviceRole.FINGERPRINT_READER:
                ok, key, detail = await _test_reader(devices)
            else:
                ok, key, detail = await _test_camera(devices, row.role)
        except CaptureError as exc:
            ok, key = False, exc.code
        ms = round((time.monotonic() - started) * 1000)
        results.append(DeviceTestResult(row.role, ok, key, ms, detail))
    logger.info("device self-test: %d of %d passed", sum(r.ok for r in results), len(results))
    return results


async def _test_camera(devices: DeviceAccess, role: DeviceRole) -> tuple[bool, str, dict[str, Any]]:
    started = time.monotonic()
    frames = [await devices.read_frame(role) for _ in range(SELF_TEST_FRAMES)]
    elapsed = max(1e-6, time.monotonic() - started)
    image = frames[-1].image
    brightness = float(image.mean())
    ok = image.ndim == 3 and image.shape[2] == 3 and 10 < brightness < 245
    return (
        ok,
        "selftest.ok" if ok else "selftest.camera_image",
        {
            "fps": round(SELF_TEST_FRAMES / elapsed, 1),
            "resolution": f"{image.shape[1]}x{image.shape[0]}",
            "brightness": round(brightness, 1),
        },
    )


async def _test_reader(devices: DeviceAccess) -> tuple[bool, str, dict[str, Any]]:
    reader = devices.reader()
    self_test = getattr(reader, "self_test", None)
    if callable(self_test):
        with devices.using(DeviceRole.FINGERPRINT_READER):
            result = await self_test()
        return bool(result), "selftest.ok" if result else "selftest.reader_failed", {}
    ok = reader.state is DeviceState.READY and reader.capture_state is CaptureState.IDLE
    return (
        ok,
        "selftest.ok" if ok else "selftest.reader_not_idle",
        {"capture_state": reader.capture_state.value, "kinds": len(reader.supported_kinds)},
    )
