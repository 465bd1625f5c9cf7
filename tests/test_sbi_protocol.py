"""SBI building blocks checked independently: JWS, hash chain, ISO records, M-JPEG, errors."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import io
import json
import struct

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from drivers.errors import (
    DeviceBusy,
    DeviceCorruptData,
    DeviceDisconnected,
    DeviceError,
    DeviceNotApproved,
    DeviceTimeout,
)
from drivers.sbi import iso, protocol
from drivers.sbi.errors import SbiProtocolError, SbiSignatureInvalid, error_for_code
from drivers.sbi.jws import TrustStore, b64url_decode, b64url_encode, sign_compact, verify_compact
from drivers.sbi.mjpeg import MultipartReader, boundary_of
from drivers.sbi.sim_pki import SimulatedPki

pytestmark = pytest.mark.timeout(60)

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module", params=["rsa", "ec"])
def pki(request: pytest.FixtureRequest) -> SimulatedPki:
    return SimulatedPki(request.param)


def test_signature_verifies_independently_over_header_dot_payload(pki: SimulatedPki) -> None:
    creds = pki.issue_device("SERIAL000001")
    token = sign_compact(b'{"a":1}', creds.key, creds.chain)
    head, payload, signature = token.split(".")
    header = json.loads(b64url_decode(head))
    assert header["alg"] == ("RS256" if pki.key_type == "rsa" else "ES256")
    assert len(header["x5c"]) == 2 and base64.b64decode(header["x5c"][0])  # standard base64 DER
    signed = f"{head}.{payload}".encode()
    raw = b64url_decode(signature)
    key = creds.chain[0].public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(raw, signed, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey) and len(raw) == 64
        der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
        key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
    verified = verify_compact(token, TrustStore([pki.root_certificate]), NOW)
    assert verified.payload == b'{"a":1}'


def test_tampered_payload_and_refused_algorithms_fail(pki: SimulatedPki) -> None:
    creds = pki.issue_device("SERIAL000001")
    trust = TrustStore([pki.root_certificate])
    head, _payload, signature = sign_compact(b"{}", creds.key, creds.chain).split(".")
    with pytest.raises(SbiSignatureInvalid, match="does not verify"):
        verify_compact(f"{head}.{b64url_encode(b'{1}')}.{signature}", trust, NOW)
    header = json.loads(b64url_decode(head))
    for alg in ("none", "HS256", "PS256"):
        forged = b64url_encode(json.dumps({**header, "alg": alg}).encode())
        with pytest.raises(SbiSignatureInvalid, match="refused"):
            verify_compact(f"{forged}.{_payload}.{signature}", trust, NOW)
    wrong = "ES256" if pki.key_type == "rsa" else "RS256"
    forged = b64url_encode(json.dumps({**header, "alg": wrong}).encode())
    with pytest.raises(SbiSignatureInvalid):
        verify_compact(f"{forged}.{_payload}.{signature}", trust, NOW)
    with pytest.raises(SbiSignatureInvalid, match="not a signed JWS"):
        verify_compact(_payload, trust, NOW)


def test_x5c_given_as_one_string_is_read(pki: SimulatedPki) -> None:
    creds = pki.issue_device("SERIAL000001")
    # A device whose leaf is issued by a CA the kiosk trusts directly needs no intermediate.
    token = sign_compact(b"{}", creds.key, creds.chain[:1])
    head, payload, _signature = token.split(".")
    header = json.loads(b64url_decode(head))
    header["x5c"] = header["x5c"][0]
    head = b64url_encode(json.dumps(header).encode())
    key = creds.key
    signed = f"{head}.{payload}".encode()
    if isinstance(key, rsa.RSAPrivateKey):
        raw = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    else:
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        r, s = decode_dss_signature(key.sign(signed, ec.ECDSA(hashes.SHA256())))
        raw = r.to_bytes(32) + s.to_bytes(32)
    trust = TrustStore([creds.chain[1]])  # the provider CA as anchor
    assert verify_compact(f"{head}.{payload}.{b64url_encode(raw)}", trust, NOW).payload == b"{}"


def test_hash_chain_matches_the_reference_definition() -> None:
    first = hashlib.sha256(b"").digest()
    iso_a, iso_b = b"FIR\x00record-a", b"FIR\x00record-b"
    link_a = hashlib.sha256(first + hashlib.sha256(iso_a).digest()).hexdigest().upper()
    link_b = hashlib.sha256(bytes.fromhex(link_a) + hashlib.sha256(iso_b).digest()).hexdigest()
    assert protocol.EMPTY_HASH == first.hex().upper()
    assert protocol.chain_hash(protocol.EMPTY_HASH, iso_a) == link_a
    assert protocol.chain_hash(link_a, iso_b) == link_b.upper()


def test_version_choice() -> None:
    assert protocol.pick_version(["0.9.5", "1.0"], "auto") == "1.0"
    assert protocol.pick_version(["0.9.5"], "auto") == "0.9.5"
    assert protocol.pick_version(["1.0", "0.9.5"], "0.9.5") == "0.9.5"
    with pytest.raises(SbiProtocolError):
        protocol.pick_version(["0.9.2"], "auto")


def _gradient(height: int = 60, width: int = 40) -> np.ndarray:
    return (np.add.outer(np.arange(height), np.arange(width)) % 256).astype(np.uint8)


def test_iso_19794_4_2005_uncompressed_record_is_read() -> None:
    pixels = _gradient()
    finger = struct.pack(">IBBBBBHH", 14 + pixels.size, 7, 1, 1, 80, 0, 40, 60) + b"\x00"
    body = finger + pixels.tobytes()
    header = b"FIR\x00010\x00" + (32 + len(body)).to_bytes(6, "big")
    header += struct.pack(">HHBBHHHHBBH", 0, 31, 1, 2, 197, 197, 197, 197, 8, 0, 0)
    (image,) = iso.read_finger_record(header + body)
    assert image.position == 7 and image.quality == 80 and image.ppi == 500  # 197 px/cm
    assert np.array_equal(image.pixels, pixels)


def test_iso_19794_4_2011_wsq_and_length_checks() -> None:
    import wsq  # noqa: F401
    from PIL import Image

    pixels = (np.random.default_rng(3).random((64, 64)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="WSQ")
    record = bytearray(iso.write_finger_record([(2, _gradient(64, 64), 50)], NOW))
    (image,) = iso.read_finger_record(bytes(record))
    assert image.pixels.shape == (64, 64) and image.quality == 50
    with pytest.raises(SbiProtocolError):
        iso.read_finger_record(bytes(record[:-10]))
    data = buffer.getvalue()
    rep = record[16:]
    offset = 4 + 9 + 5 + 1 + 5 + 3 + 8
    rep[offset + 1] = 2  # WSQ
    rep[offset + 7 : offset + 11] = struct.pack(">I", len(data))
    rep = rep[: offset + 11] + data
    rep[:4] = struct.pack(">I", len(rep))
    wsq_record = bytes(record[:8]) + struct.pack(">IHBB", 16 + len(rep), 1, 0, 1) + bytes(rep)
    (decoded,) = iso.read_finger_record(wsq_record)
    reference = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    assert np.array_equal(decoded.pixels, reference)


def test_bare_image_bio_values_decode() -> None:
    ok, png = cv2.imencode(".png", _gradient())
    assert ok
    (finger,) = iso.decode_bio_value(png.tobytes(), face=False)  # type: ignore[misc]
    assert np.array_equal(finger.pixels, _gradient())
    colour = np.dstack([_gradient()] * 3)
    ok, jpeg = cv2.imencode(".jpg", colour)
    face = iso.decode_bio_value(b"junk" + jpeg.tobytes(), face=True)
    assert isinstance(face, np.ndarray) and face.shape == (60, 40, 3)
    with pytest.raises(SbiProtocolError):
        iso.decode_bio_value(b"FAC\x00nothing here", face=True)


async def _parts(body: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    reader = asyncio.StreamReader()
    reader.feed_data(body)
    reader.feed_eof()
    parts = MultipartReader(reader, boundary_of(content_type))
    out = []
    while (part := await parts.next_part()) is not None:
        out.append(part)
    return out


async def test_multipart_with_rfc_boundary_and_lengths() -> None:
    body = (
        b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 3\r\n\r\nabc\r\n"
        b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: 4\r\n\r\n\r\nxy\r\n"
        b"--frame--\r\n"
    )
    parts = await _parts(body, 'multipart/x-mixed-replace; boundary="frame"')
    assert [p[1] for p in parts] == [b"abc", b"\r\nxy"]


async def test_multipart_as_the_mosip_mock_writes_it_without_lengths() -> None:
    body = (
        b"--BoundaryString\r\nContent-Type:image/jpeg\r\n\r\n\xff\xd8one\r\n--Bound\xff\xd9\r\n\r\n"
        b"--BoundaryString\r\nContent-Type:image/jpeg\r\n\r\ntwo\r\n"
    )
    parts = await _parts(body, "multipart/x-mixed-replace; boundary=--BoundaryString")
    assert [p[1] for p in parts] == [b"\xff\xd8one\r\n--Bound\xff\xd9\r\n", b"two\r\n"]
    assert parts[0][0]["content-type"] == "image/jpeg"


async def test_multipart_ending_in_a_status_instead_of_the_close_delimiter() -> None:
    body = (
        b"--BoundaryString\r\nContent-Type:image/jpeg\r\nContent-Length:3\r\n\r\nabc\r\n\r\n"
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"errorCode":"0"}'
    )
    parts = await _parts(body, "multipart/x-mixed-replace; boundary=--BoundaryString")
    assert [p[1] for p in parts] == [b"abc"]


async def test_multipart_that_loses_its_boundary_is_an_error() -> None:
    with pytest.raises(SbiProtocolError):
        await _parts(b"garbage\r\n", "multipart/x-mixed-replace; boundary=x")
    with pytest.raises(SbiProtocolError):
        boundary_of("application/json")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("111", DeviceBusy),
        ("703", DeviceBusy),
        ("101", DeviceTimeout),
        ("701", DeviceTimeout),
        ("106", DeviceDisconnected),
        ("202", DeviceDisconnected),
        ("100", DeviceNotApproved),
        ("107", DeviceNotApproved),
        ("102", DeviceCorruptData),
        ("109", DeviceError),
        ("599", DeviceError),
    ],
)
def test_sbi_error_codes_map_to_driver_errors(code: str, kind: type[DeviceError]) -> None:
    error = error_for_code(code, "device text")
    assert type(error) is kind
    assert code in error.detail and "device text" in error.detail
