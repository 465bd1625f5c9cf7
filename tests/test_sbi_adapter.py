"""MOSIP SBI adapter against the SBI simulator on loopback: discovery, info, capture, stream.

The simulator (``drivers.sbi.simulator``) answers SBI 0.9.5 or 1.0 with signed
answers and synthetic prints/portraits; the adapter must find it among a few
probed ports, verify everything it signs and decode what it captured.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

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
from drivers.sbi.camera import SbiCamera
from drivers.sbi.client import discover
from drivers.sbi.config import SbiCameraConfig, SbiReaderConfig
from drivers.sbi.protocol import EMPTY_HASH
from drivers.sbi.reader import SbiFingerprintReader
from drivers.sbi.sim_pki import SimulatedPki
from drivers.sbi.simulator import SbiSimulator
from drivers.sim.fingerprint_synth import synthesize_finger

pytestmark = pytest.mark.timeout(90)

RIGHT_FOUR = (
    FingerPosition.RIGHT_INDEX,
    FingerPosition.RIGHT_MIDDLE,
    FingerPosition.RIGHT_RING,
    FingerPosition.RIGHT_LITTLE,
)


@pytest.fixture(scope="module")
def pki() -> SimulatedPki:
    return SimulatedPki("rsa")


@pytest.fixture(params=["0.9.5", "1.0"])
def simulator(request: pytest.FixtureRequest, pki: SimulatedPki) -> Iterator[SbiSimulator]:
    versions = ("1.0", "0.9.5") if request.param == "1.0" else ("0.9.5",)
    with SbiSimulator(pki=pki, spec_versions=versions) as sim:
        yield sim


@pytest.fixture
def anchor(tmp_path: Path, pki: SimulatedPki) -> Path:
    path = tmp_path / "sbi-root.pem"
    path.write_bytes(pki.root_pem)
    return path


def _reader(sim: SbiSimulator, anchor: Path, **kwargs: object) -> SbiFingerprintReader:
    config = SbiReaderConfig.model_validate(
        {
            "type": "sbi",
            "port_first": sim.port - 1,
            "port_last": sim.port + 1,
            "trust_anchors": [anchor],
            **kwargs,
        }
    )
    return SbiFingerprintReader(config)


def _camera(sim: SbiSimulator, anchor: Path, **kwargs: object) -> SbiCamera:
    config = SbiCameraConfig.model_validate(
        {"type": "sbi", "port": sim.port, "trust_anchors": [anchor], **kwargs}
    )
    return SbiCamera(config)


def test_adapters_satisfy_the_protocols(simulator: SbiSimulator, anchor: Path) -> None:
    assert isinstance(_reader(simulator, anchor), FingerprintReader)
    assert isinstance(_camera(simulator, anchor), Camera)


async def test_discovery_finds_the_service_among_probed_ports(simulator: SbiSimulator) -> None:
    ports = range(simulator.port - 1, simulator.port + 2)
    found = await discover(ports, "Biometric Device", version="auto", concurrency=2, timeout_s=1)
    assert {(d.port, d.bio_type) for d in found} == {
        (simulator.port, "Finger"),
        (simulator.port, "Face"),
    }
    fingers = await discover(ports, "Finger", version="auto", concurrency=3, timeout_s=1)
    assert [d.device_sub_type for d in fingers] == ["Slap"]
    assert fingers[0].ready and fingers[0].sub_ids == (1, 2, 3)


def _listening_socket(port: int) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    sock.listen(8)  # accepts connections in the kernel, never answers
    return sock


async def test_discovery_survives_a_port_that_never_answers(
    pki: SimulatedPki, anchor: Path
) -> None:
    for _ in range(20):
        hole = _listening_socket(0)
        assert hole is not None
        port = hole.getsockname()[1] + 1
        try:
            sim = SbiSimulator(port, pki=pki).start()
        except OSError:
            hole.close()
            continue
        break
    else:
        pytest.fail("no two adjacent free ports on loopback")
    try:
        config = {"port_first": port - 1, "port_last": port, "probe_timeout_s": 0.3}
        reader = _reader(sim, anchor, **config)
        await reader.open()
        assert reader.state is DeviceState.READY
    finally:
        sim.stop()
        hole.close()


async def test_info_is_verified_and_describes_the_device(
    simulator: SbiSimulator, anchor: Path
) -> None:
    reader = _reader(simulator, anchor)
    await reader.open()
    info = reader.info
    assert (info.driver, info.vendor, info.serial) == ("sbi", "CLAIM-SIM", "SIMSLAP0000000001")
    assert info.firmware == "SIM.FW.1.0"
    assert f"SBI {simulator.service.version}" in info.model
    method, body = simulator.service.received[-1]
    assert method == "MOSIPDINFO"
    if simulator.service.version == "1.0":
        assert body == {"type": "Finger", "specVersion": "1.0"}
    else:
        assert body == {}  # 0.9.5: no request body; the service lists every device
    assert ("MOSIPDISC", {"type": "Finger"}) in simulator.service.received


async def test_single_finger_capture_is_the_synthetic_print_bit_for_bit(
    simulator: SbiSimulator, anchor: Path
) -> None:
    reader = _reader(simulator, anchor)
    await reader.open()
    events: list[ReaderEvent] = []
    request = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, timeout_s=5)
    image = await reader.capture(request, events.append)
    assert image.pixels.shape == (500, 400) and image.ppi == 500
    expected = synthesize_finger(1, FingerPosition.RIGHT_INDEX, 0)  # JPEG 2000 lossless
    assert np.array_equal(image.pixels, expected)
    assert [e.state for e in events] == [
        CaptureState.AWAITING_FINGER,
        CaptureState.CAPTURING,
        CaptureState.AWAITING_LIFT,
        CaptureState.IDLE,
    ]
    assert reader.state is DeviceState.READY


async def test_rcapture_request_follows_the_spec_version_on_the_wire(
    simulator: SbiSimulator, anchor: Path
) -> None:
    reader = _reader(simulator, anchor, requested_score=55)
    await reader.open()
    request = CaptureRequest(
        CaptureKind.SLAP_RIGHT_FOUR,
        FingerPosition.PLAIN_RIGHT_FOUR,
        timeout_s=7,
        missing=frozenset({FingerPosition.RIGHT_RING}),
    )
    await reader.capture_fingers(request)
    method, body = simulator.service.received[-1]
    version = simulator.service.version
    assert method == "RCAPTURE"
    assert (body["purpose"], body["specVersion"], body["timeout"]) == (
        "Registration",
        version,
        "7000",
    )
    (bio,) = body["bio"]
    assert bio["type"] == "Finger" and bio["deviceSubId"] == "2" and bio["count"] == "3"
    assert bio["bioSubType"] == ["Right IndexFinger", "Right MiddleFinger", "Right LittleFinger"]
    assert bio["exception"] == ["Right RingFinger"]
    assert bio["requestedScore"] == "55" and bio["previousHash"] == EMPTY_HASH
    if version == "1.0":
        assert bio["serialNo"] == "SIMSLAP0000000001" and "deviceId" not in bio
    else:
        assert bio["deviceId"] == "1" and "serialNo" not in bio
    assert 4 <= len(body["transactionId"]) <= 50


async def test_slap_capture_returns_segmented_fingers_and_a_platen_image(
    simulator: SbiSimulator, anchor: Path
) -> None:
    reader = _reader(simulator, anchor)
    await reader.open()
    request = CaptureRequest(
        CaptureKind.SLAP_RIGHT_FOUR, FingerPosition.PLAIN_RIGHT_FOUR, timeout_s=10
    )
    fingers = await reader.capture_fingers(request)
    assert tuple(f.position for f in fingers) == RIGHT_FOUR
    assert all(f.pixels.shape == (500, 400) and f.quality is not None for f in fingers)
    slap = await reader.capture(request)
    assert slap.kind is CaptureKind.SLAP_RIGHT_FOUR
    assert slap.position is FingerPosition.PLAIN_RIGHT_FOUR
    assert slap.pixels.shape == (500 + 2 * 48, 4 * (400 + 48) + 48)


async def test_camera_streams_frames_and_takes_a_signed_still(
    simulator: SbiSimulator, anchor: Path
) -> None:
    camera = _camera(simulator, anchor)
    await camera.open()
    assert camera.state is DeviceState.READY and camera.info.serial == "SIMFACE0000000002"
    frames = [await camera.read_frame(timeout_s=10) for _ in range(3)]
    assert [f.image.shape for f in frames] == [(480, 640, 3)] * 3
    assert frames[0].sequence < frames[1].sequence < frames[2].sequence
    assert camera.controls().width == 640 and camera.controls().height == 480
    still = await camera.capture_still(timeout_s=10)
    assert still.image.shape == (480, 640, 3) and still.image.dtype == np.uint8
    after = await camera.read_frame(timeout_s=10)  # the preview resumes after RCAPTURE
    assert after.image.shape == (480, 640, 3)
    stream_bodies = [body for method, body in simulator.service.received if method == "STREAM"]
    assert len(stream_bodies) == 2 and stream_bodies[0]["deviceSubId"] == "0"
    await camera.close()
    assert camera.state is DeviceState.CLOSED


async def test_stream_parts_without_content_length_are_read_to_the_boundary(
    simulator: SbiSimulator, anchor: Path
) -> None:
    simulator.faults.stream_content_length = False
    camera = _camera(simulator, anchor)
    await camera.open()
    frames = [await camera.read_frame(timeout_s=10) for _ in range(2)]
    assert all(f.image.shape == (480, 640, 3) for f in frames)
    await camera.close()


async def test_es256_device_keys_are_accepted(tmp_path: Path) -> None:
    pki = SimulatedPki("ec")
    anchor = tmp_path / "ec-root.pem"
    anchor.write_bytes(pki.root_pem)
    with SbiSimulator(pki=pki) as sim:
        reader = _reader(sim, anchor)
        await reader.open()
        request = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.LEFT_THUMB, timeout_s=5)
        image = await reader.capture(request)
        assert image.pixels.shape == (500, 400)
        _method, body = sim.service.received[-1]
        assert body["bio"][0]["deviceSubId"] == "3"


async def test_cancel_aborts_a_capture_in_flight(simulator: SbiSimulator, anchor: Path) -> None:
    from drivers.errors import CaptureCancelled

    reader = _reader(simulator, anchor)
    await reader.open()
    simulator.faults.delay_s = 30
    request = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, timeout_s=30)
    task = asyncio.create_task(reader.capture(request))
    await asyncio.sleep(0.2)
    await reader.cancel()
    with pytest.raises(CaptureCancelled):
        await task
    assert reader.capture_state is CaptureState.IDLE and reader.state is DeviceState.READY


async def test_the_preview_restarts_when_the_service_ends_a_stream(
    simulator: SbiSimulator, anchor: Path
) -> None:
    camera = _camera(simulator, anchor, stream_timeout_s=0.3)  # each STREAM lasts 0.3 s
    await camera.open()
    frames = [await camera.read_frame(timeout_s=10) for _ in range(10)]  # 10 fps: > 0.3 s
    assert [f.sequence for f in frames] == sorted({f.sequence for f in frames})
    streams = [body for method, body in simulator.service.received if method == "STREAM"]
    assert len(streams) >= 2 and all(body["timeout"] == "300" for body in streams)
    await camera.close()


async def test_discovery_lists_devices_for_the_device_page(simulator: SbiSimulator) -> None:
    from drivers.interfaces import DeviceKind
    from drivers.sbi.discovery import SbiDiscovery

    discovery = SbiDiscovery(range(simulator.port, simulator.port + 1), timeout_s=1)
    found = [info async for info in discovery.discover()]
    assert {(i.kind, i.serial, i.vendor) for i in found} == {
        (DeviceKind.FINGERPRINT, "SIMSLAP0000000001", "CLAIM-SIM"),
        (DeviceKind.CAMERA, "SIMFACE0000000002", "CLAIM-SIM"),
    }
