"""The conformance checks, modelled on MOSIP's SBI compliance tests.

Discovery, device info, capture, timeouts, cancel, quality, signature and key
rotation run on every target; unplug/replug and injected USB faults run where
the target can produce them (:class:`appliance.hil.model.Capability`). Each
check returns the ``detail`` of a pass, or raises (:class:`CheckFailed`,
``AssertionError`` or a :class:`drivers.errors.DeviceError`) to fail.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from appliance.hil.model import Capability, CheckFailed
from appliance.hil.session import TargetSession
from appliance.hil.signing import b64url, canonical, capture_record, token_kid, verify
from drivers.errors import (
    CaptureCancelled,
    DeviceAccessDenied,
    DeviceCorruptData,
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
)
from drivers.interfaces import CaptureKind, CaptureState, DeviceKind, DeviceState, ReaderEvent

CheckFn = Callable[[TargetSession], Awaitable[str]]

_FLOW = [
    CaptureState.AWAITING_FINGER,
    CaptureState.CAPTURING,
    CaptureState.AWAITING_LIFT,
    CaptureState.IDLE,
]


@dataclass(frozen=True)
class Check:
    name: str
    requires: frozenset[Capability]
    run: CheckFn


CHECKS: list[Check] = []


def check(name: str, *requires: Capability) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        CHECKS.append(Check(name, frozenset(requires), fn))
        return fn

    return register


async def expect(error: type[DeviceError], action: Awaitable[object]) -> DeviceError:
    """Await ``action`` and return the ``error`` it must raise."""
    try:
        await action
    except error as exc:
        return exc
    raise CheckFailed(f"expected {error.__name__}, the operation succeeded")


@check("discover")
async def discover(s: TargetSession) -> str:
    return await s.target.discover()


@check("device_info")
async def device_info(s: TargetSession) -> str:
    reader = await s.reader()
    info = reader.info
    missing = [
        name
        for name in ("device_id", "vendor", "model", "serial", "firmware")
        if not getattr(info, name)
    ]
    if missing:
        raise CheckFailed(f"device info lacks {', '.join(missing)}")
    assert info.kind is DeviceKind.FINGERPRINT, f"kind is {info.kind}"
    assert reader.state is DeviceState.READY, f"state is {reader.state}"
    assert CaptureKind.FLAT_SINGLE in reader.supported_kinds, "no flat single-finger capture"
    return f"{info.vendor} {info.model}, serial {info.serial}, firmware {info.firmware}"


@check("capture")
async def capture(s: TargetSession) -> str:
    events: list[ReaderEvent] = []
    image = await s.capture(events.append)
    reader = await s.reader()
    states = [e.state for e in events]
    assert states == _FLOW, f"state events {[str(x) for x in states]}"
    pixels = image.pixels
    assert pixels.ndim == 2 and pixels.dtype == np.uint8, f"image {pixels.dtype} {pixels.shape}"
    assert min(pixels.shape) >= 150, f"image too small: {pixels.shape}"
    assert image.ppi == 500, f"{image.ppi} ppi"
    assert reader.capture_state is CaptureState.IDLE and reader.state is DeviceState.READY
    height, width = pixels.shape
    return f"{width}x{height} px at {image.ppi} ppi; {' > '.join(str(x) for x in states)}"


@check("capture_timeout", Capability.NO_FINGER)
async def capture_timeout(s: TargetSession) -> str:
    reader = await s.reader()
    s.target.script_no_finger()
    started = time.monotonic()
    error = await expect(DeviceTimeout, reader.capture(s.request(timeout_s=0.5)))
    elapsed = time.monotonic() - started
    assert reader.state is DeviceState.READY, f"state after the timeout is {reader.state}"
    assert reader.capture_state is CaptureState.IDLE
    await s.capture()
    return f"no finger: {error.message_key} after {elapsed:.2f} s (limit 0.5 s); next capture ok"


@check("cancel", Capability.NO_FINGER)
async def cancel(s: TargetSession) -> str:
    reader = await s.reader()
    s.target.script_no_finger()
    task = asyncio.create_task(reader.capture(s.request(timeout_s=10.0)))
    await s.wait_for_state(CaptureState.AWAITING_FINGER)
    await reader.cancel()
    error = await expect(CaptureCancelled, task)
    assert reader.state is DeviceState.READY, f"state after cancel is {reader.state}"
    return f"cancelled while awaiting the finger: {error.message_key}"


@check("quality")
async def quality(s: TargetSession) -> str:
    from appliance.config.quality import FingerQualityThresholds
    from appliance.finger.quality import assess_finger

    image = await s.a_capture()
    thresholds = FingerQualityThresholds()
    result = await asyncio.to_thread(assess_finger, image.pixels, thresholds)
    if not result.accepted:
        raise CheckFailed(f"NFIQ 2 {result.nfiq2}: {result.reason} {result.feedback}")
    return f"NFIQ 2 {result.nfiq2} (accept >= {thresholds.nfiq2_min})"


@check("signature")
async def signature(s: TargetSession) -> str:
    image = await s.a_capture()
    info = (await s.reader()).info
    record = capture_record(image, info)
    token = s.keys.sign(record)
    public = s.keys.public_key(token_kid(token))
    assert public is not None
    assert verify(token, public) == record, "signature does not verify"
    assert record["bioValueSha256"] == hashlib.sha256(image.pixels.tobytes()).hexdigest()
    assert record["digitalId"]["serialNo"] == info.serial
    header, _body, sig = token.split(".")
    forged = dict(record, bioSubType="LEFT_THUMB")
    tampered = ".".join((header, b64url(canonical(forged)), sig))
    assert verify(tampered, public) is None, "a tampered record verified"
    s.signed.append(token)
    return f"ES256 JWS by key {s.keys.kid[:12]} verified; tampered record refused"


@check("key_rotation")
async def key_rotation(s: TargetSession) -> str:
    info = (await s.reader()).info
    if not s.signed:
        s.signed.append(s.keys.sign(capture_record(await s.a_capture(), info)))
    before = s.signed[0]
    old_kid = s.keys.kid
    old_public = s.keys.current.public_key()
    new_kid = s.keys.rotate()
    assert new_kid != old_kid, "rotation kept the key id"
    token = s.keys.sign(capture_record(await s.capture(), info))
    assert token_kid(token) == new_kid
    current = s.keys.public_key(new_kid)
    assert current is not None and verify(token, current) is not None, "new key does not verify"
    assert verify(token, old_public) is None, "the retired key verifies new records"
    retired = s.keys.public_key(token_kid(before))
    assert retired is not None and verify(before, retired) is not None, "old record lost"
    return f"rotated {old_kid[:12]} -> {new_kid[:12]}; old records still verify"


@check("unplug_replug", Capability.UNPLUG)
async def unplug_replug(s: TargetSession) -> str:
    reader = await s.reader()
    before = s.target.address()
    s.target.arm_unplug_mid_capture()
    await expect(DeviceDisconnected, reader.capture(s.request()))
    assert reader.state is DeviceState.DISCONNECTED, f"state after unplug is {reader.state}"
    assert reader.capture_state is CaptureState.IDLE
    await expect(DeviceDisconnected, reader.open())  # still unplugged
    s.target.replug()
    await reader.open()
    await s.capture()
    after = s.target.address()
    if before and after:
        assert after != before, f"re-enumerated at the same address {after}"
        return f"disconnected mid-capture; reopened at {after} (was {before}); capture ok"
    return "disconnected mid-capture; reopened after replug; capture ok"


@check("stall_recovery", Capability.USB_FAULTS)
async def stall_recovery(s: TargetSession) -> str:
    s.target.inject("stall")
    await s.capture()
    fired = s.target.faults_fired()
    assert fired == ["image:stall"], f"faults fired: {fired}"
    return "image endpoint stalled once: halt cleared, frame re-read, capture ok"


@check("corrupt_frames", Capability.USB_FAULTS)
async def corrupt_frames(s: TargetSession) -> str:
    s.target.inject("short")
    s.target.inject("garbage")
    await s.capture()
    first = len(s.target.faults_fired())
    assert first == 2, f"faults fired: {s.target.faults_fired()}"
    s.target.inject("garbage", always=True)
    error = await expect(DeviceCorruptData, s.capture())
    reader = await s.reader()
    assert reader.state is DeviceState.READY, f"state after corrupt data is {reader.state}"
    rereads = len(s.target.faults_fired()) - first
    s.target.clear_faults()
    await s.capture()
    return f"short + garbage frame re-read; only garbage: {error.message_key} after {rereads} reads"


@check("transfer_timeout", Capability.USB_FAULTS)
async def transfer_timeout(s: TargetSession) -> str:
    s.target.inject("timeout")
    await s.capture()
    assert s.target.faults_fired() == ["image:timeout"]
    return "image transfer timed out once: re-read, capture ok"


@check("access_denied", Capability.ACCESS_FAULTS)
async def access_denied(s: TargetSession) -> str:
    await s.close_reader()
    s.target.deny_access(True)
    reader = s.target.make_reader()
    error = await expect(DeviceAccessDenied, reader.open())
    assert reader.state is DeviceState.ERROR, f"state is {reader.state}"
    assert "udev" in error.detail, f"operator message: {error.detail}"
    s.target.deny_access(False)
    await reader.open()
    s.adopt(reader)
    return f"{error.message_key}: {error.detail}"
