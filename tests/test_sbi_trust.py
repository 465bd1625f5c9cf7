"""The SBI adapter refuses what it cannot trust and maps device failures to drivers.errors.

Each fault is injected by the simulator on loopback: a broken signature, a
device certificate from an unknown root or out of date, a clock outside
±5 min, a slow or busy device; key rotation to a certificate that chains to
the trust anchor is accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.errors import DeviceBusy, DeviceNotApproved, DeviceTimeout
from drivers.interfaces import (
    CaptureKind,
    CaptureRequest,
    CaptureState,
    DeviceState,
    FingerPosition,
)
from drivers.sbi.camera import SbiCamera
from drivers.sbi.config import SbiCameraConfig, SbiReaderConfig
from drivers.sbi.errors import (
    SbiCertificateUntrusted,
    SbiProtocolError,
    SbiSignatureInvalid,
    SbiTimestampSkew,
)
from drivers.sbi.reader import SbiFingerprintReader
from drivers.sbi.sim_pki import SimulatedPki
from drivers.sbi.simulator import SbiSimulator

pytestmark = pytest.mark.timeout(90)

SINGLE = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, timeout_s=5)


@pytest.fixture(scope="module")
def pki() -> SimulatedPki:
    return SimulatedPki("rsa")


@pytest.fixture
def simulator(pki: SimulatedPki) -> Iterator[SbiSimulator]:
    with SbiSimulator(pki=pki, spec_versions=("1.0", "0.9.5")) as sim:
        yield sim


def _anchor(tmp_path: Path, pki: SimulatedPki) -> Path:
    path = tmp_path / "root.pem"
    path.write_bytes(pki.root_pem)
    return path


def _reader(sim: SbiSimulator, anchor: Path, **kwargs: object) -> SbiFingerprintReader:
    config = SbiReaderConfig.model_validate(
        {"type": "sbi", "port": sim.port, "trust_anchors": [anchor], **kwargs}
    )
    return SbiFingerprintReader(config)


async def _open_reader(
    sim: SbiSimulator, tmp_path: Path, pki: SimulatedPki, **kwargs: object
) -> SbiFingerprintReader:
    reader = _reader(sim, _anchor(tmp_path, pki), **kwargs)
    await reader.open()
    return reader


async def test_a_bad_signature_is_refused_and_the_reader_stays_usable(
    simulator: SbiSimulator, tmp_path: Path, pki: SimulatedPki
) -> None:
    reader = await _open_reader(simulator, tmp_path, pki)
    simulator.faults.bad_signature = True
    with pytest.raises(SbiSignatureInvalid) as caught:
        await reader.capture(SINGLE)
    assert isinstance(caught.value, DeviceNotApproved)
    assert caught.value.message_key == "device.not_approved"
    assert reader.capture_state is CaptureState.IDLE and reader.state is DeviceState.READY
    simulator.faults.bad_signature = False
    assert (await reader.capture(SINGLE)).pixels.shape == (500, 400)


async def test_a_bad_signature_on_device_info_fails_open(
    simulator: SbiSimulator, tmp_path: Path, pki: SimulatedPki
) -> None:
    simulator.faults.bad_signature = True
    reader = _reader(simulator, _anchor(tmp_path, pki))
    with pytest.raises(SbiSignatureInvalid):
        await reader.open()
    assert reader.state is DeviceState.ERROR


async def test_a_certificate_from_another_root_is_untrusted(
    simulator: SbiSimulator, tmp_path: Path
) -> None:
    stranger = SimulatedPki("ec", name="Some other root")
    reader = _reader(simulator, _anchor(tmp_path, stranger))
    with pytest.raises(SbiCertificateUntrusted):
        await reader.open()


async def test_an_expired_device_certificate_is_untrusted(
    simulator: SbiSimulator, tmp_path: Path, pki: SimulatedPki
) -> None:
    simulator.rotate_device_key(expired=True)
    reader = _reader(simulator, _anchor(tmp_path, pki))
    with pytest.raises(SbiCertificateUntrusted, match=r"expired|validity|not valid"):
        await reader.open()


@pytest.mark.parametrize("skew_s", [-400.0, 400.0])
async def test_a_capture_timestamp_beyond_five_minutes_is_refused(
    simulator: SbiSimulator, tmp_path: Path, pki: SimulatedPki, skew_s: float
) -> None:
    reader = await _open_reader(simulator, tmp_path, pki)
    simulator.faults.clock_skew_s = skew_s
    with pytest.raises(SbiTimestampSkew):
        await reader.capture(SINGLE)


async def test_a_skewed_device_clock_warns_at_open_and_captures_are_refused(
    simulator: SbiSimulator,
    tmp_path: Path,
    pki: SimulatedPki,
    caplog: pytest.LogCaptureFixture,
) -> None:
    simulator.faults.clock_skew_s = 3600
    with caplog.at_level(logging.WARNING, logger="drivers.sbi.client"):
        reader = await _open_reader(simulator, tmp_path, pki)
    assert any("clock looks wrong" in r.getMessage() for r in caplog.records)
    with pytest.raises(SbiTimestampSkew):
        await reader.capture(SINGLE)


async def test_skew_within_five_minutes_is_accepted(
    simulator: SbiSimulator, tmp_path: Path, pki: SimulatedPki
) -> None:
    simulator.faults.clock_skew_s = -200
    reader = await _open_reader(simulator, tmp_path, pki)
    assert (await reader.capture(SINGLE)).pixels.shape == (500, 400)


async def test_a_slow_device_times_out(
    simulator: SbiSimulator, tmp_path: Path, pki: SimulatedPki
) -> None:
    reader = await _open_reader(simulator, tmp_path, pki, request_timeout_s=0.3)
    simulator.faults.delay_s = 20
    request = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, timeout_s=0.3)
    with pytest.raises(DeviceTimeout):
        await reader.capture(request)
    assert reader.state is DeviceState.READY


async def test_slow_device_info_times_out_on_open(
    simulator: SbiSimulator, tmp_path: Path, pki: SimulatedPki
) -> None:
    simulator.faults.delay_s = 20
    reader = _reader(simulator, _anchor(tmp_path, pki), request_timeout_s=0.3)
    with pytest.raises(DeviceTimeout):
        await reader.open()


async def test_a_busy_device_is_reported_busy(
    simulator: SbiSimulator, tmp_path: Path, pki: SimulatedPki
) -> None:
    reader = await _open_reader(simulator, tmp_path, pki)
    simulator.faults.busy = True
    with pytest.raises(DeviceBusy) as caught:
        await reader.capture(SINGLE)
    assert "111" in caught.value.detail
    reader2 = _reader(simulator, _anchor(tmp_path, pki))
    with pytest.raises(DeviceBusy):
        await reader2.open()  # discovery says "Busy"


async def test_a_busy_stream_fails_camera_open(
    simulator: SbiSimulator, tmp_path: Path, pki: SimulatedPki
) -> None:
    config = SbiCameraConfig(
        type="sbi", port=simulator.port, trust_anchors=[_anchor(tmp_path, pki)]
    )
    camera = SbiCamera(config)
    await camera.open()
    await camera.close()
    simulator.faults.busy = True
    with pytest.raises(DeviceBusy):
        await camera.open()


async def test_key_rotation_to_a_trusted_certificate_is_accepted(
    simulator: SbiSimulator,
    tmp_path: Path,
    pki: SimulatedPki,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reader = await _open_reader(simulator, tmp_path, pki)
    await reader.capture(SINGLE)
    simulator.rotate_device_key()
    with caplog.at_level(logging.INFO, logger="drivers.sbi.client"):
        image = await reader.capture(SINGLE)
    assert image.pixels.shape == (500, 400)
    assert any("key rotation" in r.getMessage() for r in caplog.records)


async def test_key_rotation_to_an_unapproved_root_is_refused(
    simulator: SbiSimulator, tmp_path: Path, pki: SimulatedPki
) -> None:
    reader = await _open_reader(simulator, tmp_path, pki)
    simulator.rotate_device_key(foreign_root=True)
    with pytest.raises(SbiCertificateUntrusted):
        await reader.capture(SINGLE)


async def test_no_service_in_the_range_means_disconnected(
    tmp_path: Path, pki: SimulatedPki
) -> None:
    from drivers.errors import DeviceDisconnected

    with SbiSimulator(pki=pki) as sim:
        port = sim.port
    config = SbiReaderConfig(
        type="sbi",
        port_first=port,
        port_last=port,
        probe_timeout_s=0.3,
        trust_anchors=[_anchor(tmp_path, pki)],
    )
    reader = SbiFingerprintReader(config)
    with pytest.raises(DeviceDisconnected):
        await reader.open()
    assert reader.state is DeviceState.DISCONNECTED


async def test_a_replayed_capture_is_refused(
    simulator: SbiSimulator, tmp_path: Path, pki: SimulatedPki
) -> None:
    reader = await _open_reader(simulator, tmp_path, pki)
    await reader.capture(SINGLE)
    simulator.faults.replay = True  # the same signed answer, still within five minutes
    with pytest.raises(SbiProtocolError, match="another transaction"):
        await reader.capture(SINGLE)


async def test_a_broken_hash_chain_is_refused(
    simulator: SbiSimulator, tmp_path: Path, pki: SimulatedPki
) -> None:
    reader = await _open_reader(simulator, tmp_path, pki)
    simulator.faults.break_hash_chain = True
    with pytest.raises(SbiProtocolError, match="hash chain"):
        await reader.capture(SINGLE)
