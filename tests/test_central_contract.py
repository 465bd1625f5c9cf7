"""The receiver's side of the contract: hostile bytes, structured errors, counted repeats."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import grpc
import pytest
from cryptography.hazmat.primitives import serialization

from aima.enrolment.v1 import packet_upload_pb2, packet_upload_pb2_grpc
from appliance.uplink.client import error_reason
from central.keyed_lock import KeyedLocks
from central.rpc_errors import DOMAIN, REASONS
from packet.keys import CentralPrivateKey
from packet.manifest import EnrolmentMeta, uuid7
from packet.seal import ItemSource, seal_packet
from tests.uplink_world import Kiosk, close, make_kiosk

pytestmark = pytest.mark.timeout(120)

#: Field 1, length-delimited, claiming 2**35 bytes: no protobuf parser accepts it.
GARBAGE = b"\x0a\xff\xff\xff\xff\x7f\x00"

METHODS = {
    "aima.enrolment.v1.PacketUploadService": ["Write", "QueryWriteStatus", "Commit"],
    "aima.enrolment.v1.DeviceStatusService": [
        "Heartbeat",
        "GetDeviceConfig",
        "GetApprovedDevices",
    ],
    "aima.enrolment.v1.DeviceEnrolmentService": ["EnrolDevice"],
    "aima.enrolment.v1.AuditService": ["GetAuditState", "UploadAudit", "UploadLedger"],
}


@pytest.fixture
async def kiosk(tmp_path: Path) -> AsyncIterator[Kiosk]:
    world = await make_kiosk(tmp_path)
    try:
        yield world
    finally:
        await close(world)


async def test_garbage_protobuf_is_invalid_argument_on_every_rpc_without_traceback(
    kiosk: Kiosk, caplog: pytest.LogCaptureFixture
) -> None:
    uplink = kiosk.uplink()
    channel = uplink._channel
    pem = serialization.Encoding.PEM
    enrol_channel = grpc.aio.secure_channel(
        f"127.0.0.1:{kiosk.receiver.enrol_port}",
        grpc.ssl_channel_credentials(kiosk.state.ca.certificate.public_bytes(pem)),
    )
    caplog.set_level(logging.DEBUG)
    try:
        for service, methods in METHODS.items():
            target = enrol_channel if service.endswith("EnrolmentService") else channel
            for method in methods:
                path = f"/{service}/{method}"
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    if method == "Write":
                        call = target.stream_unary(path)
                        await call(iter([GARBAGE]), timeout=10)
                    else:
                        await target.unary_unary(path)(GARBAGE, timeout=10)
                assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, path
                assert error_reason(info.value) == "MALFORMED_REQUEST", path
    finally:
        await enrol_channel.close()
        await channel.close()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert "Traceback" not in caplog.text
    errors = kiosk.state.metrics.rpcs.labels(method="Commit", code="INVALID_ARGUMENT")
    assert errors._value.get() == 1  # errors are counted by status code


async def test_repeat_commits_are_counted_and_answered_with_the_same_receipt(kiosk: Kiosk) -> None:
    [packet_id] = kiosk.queue(1)
    uplink = kiosk.uplink()
    assert await uplink.drain()
    stub = packet_upload_pb2_grpc.PacketUploadServiceStub(uplink._channel)
    again = [
        await stub.Commit(packet_upload_pb2.CommitRequest(packet_id=packet_id)) for _ in range(2)
    ]
    assert again[0].receipt.signed_payload == again[1].receipt.signed_payload
    with sqlite3.connect(kiosk.root / "central" / "store" / "index.sqlite") as db:
        [(commits,)] = db.execute("SELECT commits FROM packets WHERE packet_id = ?", (packet_id,))
    assert commits == 3
    assert kiosk.state.metrics.commits.labels(result="repeat")._value.get() == 2
    await uplink._channel.close()


async def test_checksum_mismatch_and_offset_carry_structured_reasons(kiosk: Kiosk) -> None:
    uplink = kiosk.uplink()
    stub = packet_upload_pb2_grpc.PacketUploadServiceStub(uplink._channel)
    packet_id = uuid7()
    data = b"x" * 1000
    wrong = hashlib.sha256(b"something else").hexdigest()
    first = packet_upload_pb2.WriteRequest(
        packet_id=packet_id, write_offset=0, data=data[:500], total_size=1000, sha256_hex=wrong
    )
    await stub.Write(iter([first]))
    skipped = packet_upload_pb2.WriteRequest(packet_id=packet_id, write_offset=700, data=b"y")
    with pytest.raises(grpc.aio.AioRpcError) as offset:
        await stub.Write(iter([skipped]))
    assert offset.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert error_reason(offset.value) == "OFFSET_MISMATCH"
    rest = packet_upload_pb2.WriteRequest(packet_id=packet_id, write_offset=500, data=data[500:])
    await stub.Write(iter([rest]))
    with pytest.raises(grpc.aio.AioRpcError) as mismatch:
        await stub.Commit(packet_upload_pb2.CommitRequest(packet_id=packet_id, sha256_hex=wrong))
    assert mismatch.value.code() == grpc.StatusCode.DATA_LOSS
    assert error_reason(mismatch.value) == "CHECKSUM_MISMATCH"
    await uplink._channel.close()


async def test_kiosk_quarantines_on_packet_rejected_and_retries_the_rest(kiosk: Kiosk) -> None:
    stranger = CentralPrivateKey.generate("not-central")
    packet_id = uuid7()
    meta = EnrolmentMeta("CLAIM-T", "op", "CASE-X", "0.1.0", "2026-11-23T10:00:00.000Z")

    def write(handle: BinaryIO) -> tuple[int, str]:
        result = seal_packet(
            handle,
            [ItemSource("face.jpg", "face", "image/jpeg", b"\x00" * 500)],
            signer=kiosk.identity.identity,
            central_key=stranger.public(),
            meta=meta,
            packet_id=packet_id,
        )
        return result.size, result.sha256

    kiosk.outbox.add(packet_id, write)
    [good] = kiosk.queue(1)
    uplink = kiosk.uplink()
    assert await uplink.drain()
    assert kiosk.outbox.state_of(packet_id) == "quarantined"
    assert uplink.last_reason == "PACKET_REJECTED"
    assert kiosk.delivered() == [good]
    await uplink._channel.close()


def test_every_reason_is_documented_in_the_proto() -> None:
    proto = (
        Path(__file__).resolve().parents[1] / "proto/aima/enrolment/v1/common.proto"
    ).read_text()
    assert f'domain "{DOMAIN}"' in proto
    for reason, (code, _) in REASONS.items():
        line = next((line for line in proto.splitlines() if f"//     {reason} " in line), "")
        assert code.name in line, reason


async def test_per_packet_locks_do_not_grow() -> None:
    locks = KeyedLocks()

    async def hold(key: str) -> None:
        async with locks.hold(key):
            await asyncio.sleep(0)

    await asyncio.gather(*(hold(f"packet-{n % 300}") for n in range(3000)))
    assert len(locks) == 0
