"""Vendor SDK reader over the vsdk C ABI, against a fake library compiled here with gcc.

``tests/native/fake_vsdk.c`` implements ``drivers/vendor_sdk/ABI.md`` without
hardware; the tests script its faults through its ``fake_vsdk_*`` functions
(the same library instance the driver loaded: one ``dlopen`` per process).
"""

from __future__ import annotations

import asyncio
import ctypes
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np
import pydantic
import pytest

from drivers.errors import CaptureCancelled, DeviceBusy, DeviceDisconnected, DeviceTimeout
from drivers.interfaces import (
    CaptureKind,
    CaptureRequest,
    CaptureState,
    DeviceState,
    FingerPosition,
    FingerprintReader,
    ReaderEvent,
)
from drivers.vendor_sdk.abi import VendorSdkLoadError, load_library
from drivers.vendor_sdk.config import VendorSdkReaderConfig
from drivers.vendor_sdk.reader import VendorSdkReader, finger_mask

pytestmark = pytest.mark.timeout(60)

SOURCE = Path(__file__).parent / "native" / "fake_vsdk.c"
OK, NO_FINGER, UNPLUG, BUSY, CORRUPT, SMALL_INFO = range(6)
SINGLE = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_INDEX, timeout_s=5)
RIGHT_SLAP = CaptureRequest(
    CaptureKind.SLAP_RIGHT_FOUR, FingerPosition.PLAIN_RIGHT_FOUR, timeout_s=5
)


def _compile(directory: Path, name: str, *defines: str) -> Path:
    output = directory / name
    subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-O2",
            "-pthread",
            "-Wall",
            "-Werror",
            *defines,
            "-o",
            str(output),
            str(SOURCE),
            "-lm",
        ],
        check=True,
        timeout=60,
    )
    return output


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _compile(tmp_path_factory.mktemp("vsdk"), "libfakevsdk.so")


@pytest.fixture(scope="module")
def fake(library: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(library))
    lib.fake_vsdk_set_fault.argtypes = [ctypes.c_int]
    return lib


@pytest.fixture(autouse=True)
def _reset(fake: ctypes.CDLL) -> Iterator[None]:
    fake.fake_vsdk_set_fault(OK)
    fake.fake_vsdk_replug()
    yield
    fake.fake_vsdk_set_fault(OK)
    fake.fake_vsdk_replug()


def _config(library: Path, **kwargs: object) -> VendorSdkReaderConfig:
    return VendorSdkReaderConfig.model_validate(
        {"type": "vendor_sdk", "library_path": library, **kwargs}
    )


@pytest.fixture
async def reader(library: Path) -> AsyncIterator[VendorSdkReader]:
    device = VendorSdkReader(_config(library))
    await device.open()
    yield device
    await device.close()


async def test_open_reads_the_device_info(reader: VendorSdkReader, fake: ctypes.CDLL) -> None:
    assert isinstance(reader, FingerprintReader)
    info = reader.info
    assert (info.vendor, info.model, info.serial, info.firmware) == (
        "Fake Biometrics",
        "FAKE-FAP60",
        "FK60-000042",
        "3.1.4",
    )
    assert (info.usb_vid, info.usb_pid, info.driver) == (0x1234, 0x5678, "vendor_sdk")
    assert reader.supported_kinds == {
        CaptureKind.FLAT_SINGLE,
        CaptureKind.SLAP_LEFT_FOUR,
        CaptureKind.SLAP_RIGHT_FOUR,
        CaptureKind.SLAP_THUMBS,
    }
    assert fake.fake_vsdk_open_handles() == 1
    await reader.close()
    assert fake.fake_vsdk_open_handles() == 0 and reader.state is DeviceState.CLOSED


async def test_single_capture_is_a_ridge_image_of_the_expected_size(
    reader: VendorSdkReader,
) -> None:
    events: list[ReaderEvent] = []
    image = await reader.capture(SINGLE, events.append)
    assert image.pixels.shape == (500, 400) and image.pixels.dtype == np.uint8
    assert image.ppi == 500 and image.kind is CaptureKind.FLAT_SINGLE
    assert image.pixels[0, 0] == 230  # light platen
    centre = image.pixels[150:350, 100:300]
    assert centre.min() < 80 and centre.max() > 200  # dark ridges, light valleys
    assert [e.state for e in events] == [
        CaptureState.AWAITING_FINGER,
        CaptureState.CAPTURING,
        CaptureState.AWAITING_LIFT,
        CaptureState.IDLE,
    ]


async def test_slap_capture_and_the_finger_mask(reader: VendorSdkReader) -> None:
    image = await reader.capture(RIGHT_SLAP)
    assert image.pixels.shape == (1500, 1600)
    missing = CaptureRequest(
        CaptureKind.SLAP_RIGHT_FOUR,
        FingerPosition.PLAIN_RIGHT_FOUR,
        missing=frozenset({FingerPosition.RIGHT_RING}),
    )
    assert finger_mask(missing) == (1 << 2) | (1 << 3) | (1 << 5)
    assert finger_mask(SINGLE) == 1 << 2
    thumbs = CaptureRequest(CaptureKind.SLAP_THUMBS, FingerPosition.PLAIN_THUMBS)
    assert finger_mask(thumbs) == (1 << 1) | (1 << 6)


async def test_timeout_code_becomes_device_timeout(
    reader: VendorSdkReader, fake: ctypes.CDLL
) -> None:
    fake.fake_vsdk_set_fault(NO_FINGER)
    request = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.LEFT_INDEX, timeout_s=0.2)
    with pytest.raises(DeviceTimeout, match="no finger within the timeout"):
        await reader.capture(request)
    assert reader.state is DeviceState.READY and reader.capture_state is CaptureState.IDLE


async def test_the_event_loop_runs_while_the_sdk_blocks(
    reader: VendorSdkReader, fake: ctypes.CDLL
) -> None:
    fake.fake_vsdk_set_fault(NO_FINGER)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    request = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.LEFT_INDEX, timeout_s=0.5)
    with pytest.raises(DeviceTimeout):
        await reader.capture(request)
    task.cancel()
    assert ticks > 0


async def test_unplug_code_disconnects_until_replugged(library: Path, fake: ctypes.CDLL) -> None:
    reader = VendorSdkReader(_config(library))
    await reader.open()
    fake.fake_vsdk_set_fault(UNPLUG)
    with pytest.raises(DeviceDisconnected, match="unplugged") as caught:
        await reader.capture(SINGLE)
    assert caught.value.device_id == "vendor-sdk-0"
    assert reader.state is DeviceState.DISCONNECTED
    assert fake.fake_vsdk_open_handles() == 0  # the dead handle was closed
    fake.fake_vsdk_set_fault(OK)
    with pytest.raises(DeviceDisconnected):
        await reader.open()  # VSDK_E_NO_DEVICE while unplugged
    fake.fake_vsdk_replug()
    await reader.open()
    assert (await reader.capture(SINGLE)).pixels.shape == (500, 400)
    await reader.close()


async def test_cancel_ends_a_blocking_capture(reader: VendorSdkReader, fake: ctypes.CDLL) -> None:
    fake.fake_vsdk_set_fault(NO_FINGER)
    request = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_THUMB, timeout_s=30)
    task = asyncio.create_task(reader.capture(request))
    await asyncio.sleep(0.2)
    await reader.cancel()
    with pytest.raises(CaptureCancelled):
        await asyncio.wait_for(task, timeout=10)
    assert reader.state is DeviceState.READY and reader.capture_state is CaptureState.IDLE
    fake.fake_vsdk_set_fault(OK)
    assert (await reader.capture(SINGLE)).pixels.shape == (500, 400)


async def test_a_cancel_before_the_sdk_call_is_not_lost(
    reader: VendorSdkReader, fake: ctypes.CDLL
) -> None:
    fake.fake_vsdk_set_fault(NO_FINGER)
    request = CaptureRequest(CaptureKind.FLAT_SINGLE, FingerPosition.RIGHT_THUMB, timeout_s=30)
    task = asyncio.create_task(reader.capture(request))
    await asyncio.sleep(0)  # the capture has started, the worker may not be in C yet
    await reader.cancel()
    with pytest.raises(CaptureCancelled):
        await asyncio.wait_for(task, timeout=10)


async def test_a_corrupt_transfer_is_captured_again(
    reader: VendorSdkReader, fake: ctypes.CDLL
) -> None:
    before = fake.fake_vsdk_captures()
    fake.fake_vsdk_set_fault(CORRUPT)
    image = await reader.capture(SINGLE)
    assert image.pixels.shape == (500, 400)
    assert fake.fake_vsdk_captures() == before + 1


async def test_a_too_small_buffer_is_grown(library: Path, fake: ctypes.CDLL) -> None:
    fake.fake_vsdk_set_fault(SMALL_INFO)  # info says 400 x 500, a slap needs 1600 x 1500
    reader = VendorSdkReader(_config(library))
    await reader.open()
    fake.fake_vsdk_set_fault(OK)
    assert (await reader.capture(RIGHT_SLAP)).pixels.shape == (1500, 1600)
    await reader.close()


async def test_busy_code_on_open(library: Path, fake: ctypes.CDLL) -> None:
    fake.fake_vsdk_set_fault(BUSY)
    reader = VendorSdkReader(_config(library))
    with pytest.raises(DeviceBusy, match="claimed by another process"):
        await reader.open()
    assert reader.state is DeviceState.ERROR


def test_a_library_with_another_abi_major_is_refused(tmp_path: Path) -> None:
    other = _compile(tmp_path, "libfakevsdk2.so", "-DFAKE_ABI_VERSION=((2<<16)|0)")
    with pytest.raises(VendorSdkLoadError, match=r"ABI 2\.0"):
        load_library(other)
    newer = _compile(tmp_path, "libfakevsdk11.so", "-DFAKE_ABI_VERSION=((1<<16)|1)")
    assert load_library(newer).version == (1 << 16) | 1


async def test_missing_library_and_relative_paths_are_refused(tmp_path: Path) -> None:
    reader = VendorSdkReader(_config(tmp_path / "libnothere.so"))
    with pytest.raises(VendorSdkLoadError):
        await reader.open()
    with pytest.raises(pydantic.ValidationError, match="absolute"):
        _config(Path("libfakevsdk.so"))


def test_a_library_others_may_write_is_refused(library: Path, tmp_path: Path) -> None:
    copy = tmp_path / "libwritable.so"
    copy.write_bytes(library.read_bytes())
    copy.chmod(0o666)
    with pytest.raises(VendorSdkLoadError, match="writable"):
        load_library(copy)
