"""Hostile files give a clear error, not a decode: YAML bombs, deep files, huge images.

Costs (time, peak memory against a baseline run) are measured by
``bench/hostile_input.py``; here only the behaviour is checked.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import wsq  # noqa: F401 - registers the WSQ codec with Pillow
from PIL import Image

from appliance.config.loader import ConfigError, load_config
from appliance.face.imageio import ImageReadError, read_image
from appliance.finger.io import read_gray
from appliance.finger.quality import FingerImageError
from drivers.image_header import (
    ImageHeaderError,
    check_decoded,
    check_frame,
    check_image_bytes,
    read_image_header,
)
from drivers.sbi.errors import SbiProtocolError
from drivers.sbi.iso import decode_bio_value
from tests.hostile_files import ALIAS_BOMB, png_header, write_hostile_files

ROOT = Path(__file__).resolve().parents[1]
APPLIANCE = [sys.executable, "-m", "appliance"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*APPLIANCE, *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_hostile_files(tmp_path_factory.mktemp("hostile"))


def test_alias_bomb_and_deep_file_are_refused(hostile: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="anchors and aliases are not allowed"):
        load_config(hostile["alias-bomb.yaml"])
    with pytest.raises(ConfigError, match="nesting deeper than 32"):
        load_config(hostile["deep.yaml"])
    assert len(ALIAS_BOMB) < 500


def test_config_validate_cli_names_the_problem(hostile: dict[str, Path]) -> None:
    for name, message in (
        ("alias-bomb.yaml", "anchors and aliases are not allowed"),
        ("deep.yaml", "nesting deeper than 32 levels"),
    ):
        result = _cli("config", "validate", str(hostile[name]))
        assert result.returncode == 1, result.stderr
        assert message in result.stderr
        assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr


def test_oversized_config_file_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# padding\n" * 200_000)
    with pytest.raises(ConfigError, match="more than the 1048576 allowed"):
        load_config(big)


def test_demo_config_still_loads() -> None:
    load_config(ROOT / "config" / "demo.yaml")


def _encodings() -> dict[str, bytes]:
    rng = np.random.default_rng(3)
    colour = rng.integers(0, 255, (123, 77, 3), dtype=np.uint8)
    out = {}
    for ext in (".png", ".jpg", ".jp2", ".bmp", ".tiff"):
        ok, data = cv2.imencode(ext, colour)
        assert ok
        out[ext] = data.tobytes()
    ok, data = cv2.imencode(".jpg", colour, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    out["progressive.jpg"] = data.tobytes()
    buffer = io.BytesIO()
    Image.fromarray(colour[:, :, 0]).save(buffer, format="WSQ")
    out[".wsq"] = buffer.getvalue()
    buffer = io.BytesIO()
    Image.fromarray(colour).save(buffer, format="TIFF", tiffinfo={})
    out["pillow.tiff"] = buffer.getvalue()
    # A raw JPEG 2000 codestream: the jp2c box of the JP2 file.
    jp2 = out[".jp2"]
    out[".j2k"] = jp2[jp2.index(b"\xff\x4f\xff\x51") :]
    return out


@pytest.mark.parametrize(("name", "data"), _encodings().items())
def test_header_sizes_match_the_decoders(name: str, data: bytes) -> None:
    header = read_image_header(data)
    assert (header.width, header.height) == (77, 123), name
    if name != ".wsq":
        decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        check_decoded(decoded, header)


def test_unknown_and_truncated_formats_are_refused() -> None:
    for data in (b"GIF89a" + bytes(20), b"P5\n20000 20000\n255\n", b"\x89PNG\r\n\x1a\n\0\0"):
        with pytest.raises(ImageHeaderError):
            read_image_header(data)


def test_jp2_whose_header_box_lies_is_refused() -> None:
    data = bytearray(_encodings()[".jp2"])
    ihdr = data.index(b"ihdr") + 4
    data[ihdr : ihdr + 8] = struct.pack(">II", 10, 10)  # codestream still says 77 x 123
    with pytest.raises(ImageHeaderError, match="different image sizes"):
        read_image_header(bytes(data))


def test_decoded_size_must_match_the_header() -> None:
    header = read_image_header(png_header(10, 10))
    with pytest.raises(ImageHeaderError, match="its header said 10x10"):
        check_decoded(np.zeros((20, 10), np.uint8), header)


def test_huge_png_is_refused_by_every_file_reader(hostile: dict[str, Path]) -> None:
    with pytest.raises(ImageReadError, match="20000x20000"):
        read_image(hostile["huge.png"])
    with pytest.raises(FingerImageError, match="20000x20000"):
        read_gray(hostile["huge.png"])
    with pytest.raises(ImageHeaderError):
        check_image_bytes(png_header(20001, 10), max_pixels=10**12)  # per-side limit


@pytest.mark.parametrize(
    "command",
    [
        ["photo-check"],
        ["finger-check"],
        ["slap-segment", "--expect", "4", "--hand", "right"],
    ],
)
def test_huge_png_gives_a_clear_cli_error(hostile: dict[str, Path], command: list[str]) -> None:
    result = _cli(*command, str(hostile["huge.png"]))
    assert result.returncode == 1
    assert "20000x20000 pixels" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_sbi_record_with_a_huge_image_is_refused() -> None:
    with pytest.raises(SbiProtocolError, match="20000x20000"):
        decode_bio_value(png_header(20000, 20000), face=True)
    with pytest.raises(SbiProtocolError, match="20000x20000"):
        decode_bio_value(png_header(20000, 20000), face=False)


def test_driver_frames_are_checked() -> None:
    check_frame(np.zeros((480, 640, 3), np.uint8))
    check_frame(np.zeros((480, 640), np.uint8))
    for bad in (
        np.zeros((480, 640, 3), np.uint16),
        np.zeros((480, 640, 4), np.uint8),
        np.zeros((0, 640), np.uint8),
        np.zeros((5000, 5000), np.uint8),
    ):
        with pytest.raises(ImageHeaderError):
            check_frame(bad)
