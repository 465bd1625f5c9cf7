"""Fuzzing in the suite (hypothesis): hostile bytes reach only the parsers' own errors.

``make test`` runs a small budget (``FUZZ_EXAMPLES``, default 150 per target);
``make fuzz`` runs 5,000 per target and prints the executions. atheris is not
used: it has no aarch64 wheel (and none for this Python on x86_64 past 3.0.0).
"""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.config.loader import ConfigError, load_config
from drivers.errors import DeviceError
from drivers.image_header import ImageHeaderError, check_image_bytes
from drivers.sbi import protocol
from drivers.sbi.errors import raise_for_error
from drivers.sbi.iso import decode_bio_value, write_face_record, write_finger_record
from packet.errors import PacketError
from packet.open import DiscardSink, open_packet
from packet.receipts import ReceiptInvalid, SignedReceipt
from tests.sealing_helpers import make_world, sample_items, seal

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 150,  # the budget in make test is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
EXECUTIONS: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    print("\nfuzz executions:", json.dumps(dict(EXECUTIONS), sort_keys=True))


def _mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """Byte flips, cuts, insertions and deletions of a valid input."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        data = bytearray(seed)
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "set"]))
            at = draw(st.integers(0, max(len(data) - 1, 0)))
            if kind == "flip" and data:
                data[at] ^= 1 << draw(st.integers(0, 7))
            elif kind == "cut":
                del data[at:]
            elif kind == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=16))
            elif kind == "delete":
                del data[at : at + draw(st.integers(1, 16))]
            elif data:
                data[at] = draw(st.sampled_from([0, 0xFF, 0x7F, 0x80]))
        return bytes(data)

    return mutate()


_WORLD = make_world()
_PACKET, _ = seal(_WORLD, sample_items(300), chunk_size=1024)


@FUZZ
@given(_mutations(_PACKET))
def test_fuzz_packet_opener(data: bytes) -> None:
    EXECUTIONS["packet_opener"] += 1
    try:
        open_packet(io.BytesIO(data), _WORLD.keyring, _WORLD.trust, DiscardSink())
    except PacketError:
        return
    assert data == _PACKET, "an altered packet opened"


@FUZZ
@given(st.binary(max_size=512) | _mutations(_PACKET[:400]))
def test_fuzz_receipt_and_header_json(data: bytes) -> None:
    EXECUTIONS["receipt_parser"] += 1
    try:
        SignedReceipt.from_bytes(data)
    except ReceiptInvalid:
        pass


_CONFIG = (Path(__file__).resolve().parents[1] / "config" / "demo.yaml").read_text()
_YAML_BITS = st.sampled_from(
    [
        "&a ",
        "*a ",
        "[",
        "]",
        "{",
        "}",
        ": ",
        "- ",
        "\n",
        "  ",
        "!!python/object ",
        "'",
        '"',
        "#",
        "<<: ",
    ]
)


@FUZZ
@given(
    positions=st.lists(st.integers(0, len(_CONFIG)), min_size=1, max_size=4),
    inserts=st.lists(_YAML_BITS | st.text(max_size=8), min_size=1, max_size=4),
)
def test_fuzz_config_loader(positions: list[int], inserts: list[str], tmp_path: Path) -> None:
    EXECUTIONS["config_loader"] += 1
    text = _CONFIG
    for at, piece in zip(sorted(positions, reverse=True), inserts, strict=False):
        text = text[:at] + piece + text[at:]
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError:
        pass


def _image_seeds() -> list[bytes]:
    image = np.random.default_rng(1).integers(0, 255, (64, 48, 3), dtype=np.uint8)
    seeds = [
        cv2.imencode(ext, image)[1].tobytes() for ext in (".png", ".jpg", ".jp2", ".bmp", ".tiff")
    ]
    jp2 = seeds[2]
    seeds.append(jp2[jp2.index(b"\xff\x4f\xff\x51") :])
    return seeds


@FUZZ
@given(st.sampled_from(_image_seeds()).flatmap(_mutations) | st.binary(max_size=256))
def test_fuzz_image_header_readers(data: bytes) -> None:
    EXECUTIONS["image_header"] += 1
    try:
        header = check_image_bytes(data, max_pixels=16_000_000)
    except ImageHeaderError:
        return
    assert 0 < header.width <= 20000 and 0 < header.height <= 20000


_WHEN = __import__("datetime").datetime(2026, 1, 1, tzinfo=__import__("datetime").UTC)
_FINGER = write_finger_record([(2, np.full((64, 48), 128, np.uint8), 60)], _WHEN)
_FACE = write_face_record(np.full((64, 48, 3), 128, np.uint8), _WHEN)


@FUZZ
@given(_mutations(_FINGER) | _mutations(_FACE))
def test_fuzz_iso_record_readers(data: bytes) -> None:
    EXECUTIONS["iso_19794_readers"] += 1
    for face in (True, False):
        try:
            decode_bio_value(data, face=face)
        except DeviceError:  # SbiProtocolError and the mapped device errors
            pass


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
_SBI_KEYS = st.sampled_from(
    [
        "deviceId",
        "serialNo",
        "deviceStatus",
        "specVersion",
        "deviceSubId",
        "digitalId",
        "errorcode",
        "errorCode",
        "errorInfo",
    ]
)


@FUZZ
@given(st.lists(st.dictionaries(_SBI_KEYS, _JSON, max_size=6), max_size=3) | _JSON)
def test_fuzz_sbi_response_parser(body: object) -> None:
    EXECUTIONS["sbi_response_parser"] += 1
    try:
        protocol.parse_discovery(4501, body)
    except DeviceError:
        pass
    if isinstance(body, dict):
        try:
            raise_for_error(body)
        except DeviceError:
            pass
