"""1:1 face match on public portraits from registry packages: a genuine pair and an
impostor pair decided correctly, DG2 decoding (19794-5 and 39794-5-like, JPEG 2000 and
JPEG) with its bounds, and fail-closed model loading."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.facematch.dg2 import Dg2Error, decode_dg2, decode_image
from appliance.facematch.matcher import FaceMatcher, NoFaceFound
from appliance.facematch.models import MatchModelError, verify
from drivers.sim.emrtd import lds_builder as lb
from tests.public_portraits import as_dg2, astronaut, load


@pytest.fixture(scope="module")
def matcher() -> FaceMatcher:
    if any(v != "ok" for v in verify().values()):
        pytest.skip("face-match models not installed: run 'appliance models fetch'")
    return FaceMatcher()


def _dg2_of(image_bytes: bytes, *, jpeg2000: bool = True) -> bytes:
    image, _ = decode_image(image_bytes)
    record = lb.face_record(image_bytes, image.shape[1], image.shape[0], jpeg2000=jpeg2000)
    return lb.dg2(record)


def test_genuine_pair_matches(matcher: FaceMatcher) -> None:
    portrait = decode_dg2(_dg2_of(as_dg2(load("obama.jpg"))))
    assert portrait.format == "jpeg2000" and portrait.record == "ISO/IEC 19794-5"
    result = matcher.compare(portrait.image, load("obama2.jpg"))
    assert result.match, result
    assert result.manifest()["face_match.decision"] == "match"


def test_impostor_pair_does_not_match(matcher: FaceMatcher) -> None:
    portrait = decode_dg2(_dg2_of(as_dg2(load("biden.jpg"))))
    result = matcher.compare(portrait.image, load("obama.jpg"))
    assert not result.match, result
    other = matcher.compare(decode_dg2(_dg2_of(as_dg2(astronaut()))).image, load("obama3.jpg"))
    assert not other.match


def test_no_face_is_reported(matcher: FaceMatcher) -> None:
    import numpy as np

    blank = np.full((300, 240, 3), 128, np.uint8)
    with pytest.raises(NoFaceFound) as caught:
        matcher.compare(blank, astronaut())
    assert caught.value.which == "document"


def test_dg2_39794_style_record_with_jpeg() -> None:
    import cv2

    ok, jpeg = cv2.imencode(".jpg", astronaut()[0:320, 100:340])
    assert ok
    der = lb.tlv(0xA1, lb.tlv(0xA0, lb.tlv(0x80, b"\x01") + lb.tlv(0x81, jpeg.tobytes())))
    dg2 = lb.tlv(0x75, lb.tlv(0x7F61, lb.tlv(0x02, b"\x01") + lb.tlv(0x7F60, lb.tlv(0x5F2E, der))))
    portrait = decode_dg2(dg2)
    assert portrait.format == "jpeg" and portrait.record == "ISO/IEC 39794-5"


def test_dg2_bounds() -> None:
    with pytest.raises(Dg2Error):
        decode_dg2(b"\x75\x83\xff\xff\xff" + b"\x00" * 10)  # lying length
    with pytest.raises(Dg2Error):
        decode_dg2(b"\x00" * (300 * 1024))
    record = bytearray(lb.face_record(b"\xff\xd8\xff" + b"\x00" * 50, 10, 10, jpeg2000=False))
    record[14:18] = (10**6).to_bytes(4, "big")  # facial block overruns the record
    with pytest.raises(Dg2Error):
        decode_dg2(lb.dg2(bytes(record)))


def test_missing_models_fail_closed(tmp_path: Path) -> None:
    with pytest.raises(MatchModelError, match="appliance models fetch"):
        FaceMatcher(models=tmp_path)
