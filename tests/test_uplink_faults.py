"""Store-and-forward over loopback gRPC: exactly once, whatever fails."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from aima.enrolment.v1 import packet_upload_pb2, packet_upload_pb2_grpc
from appliance.outbox import OutboxFull
from packet.timestamps import format_timestamp
from tests.uplink_world import Kiosk, close, make_kiosk, wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def kiosk(tmp_path: Path) -> AsyncIterator[Kiosk]:
    world = await make_kiosk(tmp_path)
    try:
        yield world
    finally:
        await close(world)


async def test_delivers_exactly_once_and_replayed_commit_is_idempotent(kiosk: Kiosk) -> None:
    ids = kiosk.queue(3)
    uplink = kiosk.uplink()
    assert await uplink.drain()
    assert sorted(kiosk.delivered()) == sorted(ids)
    assert all(kiosk.outbox.state_of(i) == "purged" for i in ids)
    # Replay: committing an already committed packet returns the same receipt.
    channel = uplink._channel
    stub = packet_upload_pb2_grpc.PacketUploadServiceStub(channel)
    first = await stub.Commit(packet_upload_pb2.CommitRequest(packet_id=ids[0]))
    second = await stub.Commit(packet_upload_pb2.CommitRequest(packet_id=ids[0]))
    assert first.receipt.signed_payload == second.receipt.signed_payload
    assert len(kiosk.delivered()) == 3
    # Re-writing a committed packet is refused, not stored twice.
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await stub.Write(
            iter(
                [
                    packet_upload_pb2.WriteRequest(
                        packet_id=ids[0],
                        write_offset=0,
                        data=b"x",
                        total_size=1,
                        sha256_hex="0" * 64,
                    )
                ]
            )
        )
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    await channel.close()


async def test_unreachable_central_then_backlog_drains(kiosk: Kiosk) -> None:
    await kiosk.receiver.stop(grace=0)
    ids = kiosk.queue(5)
    uplink = kiosk.uplink(backoff_initial_s=0.05, backoff_max_s=0.2, rpc_timeout_s=2)
    assert not await uplink.drain()
    assert kiosk.outbox.status().depth == 5
    uplink.start()
    await kiosk.restart_receiver()
    uplink.notify()
    await wait_for(lambda: kiosk.outbox.status().depth == 0)
    await uplink.stop()
    assert sorted(kiosk.delivered()) == sorted(ids)


async def test_receiver_restart_mid_stream_resumes_at_committed_offset(kiosk: Kiosk) -> None:
    [packet_id] = kiosk.queue(1, size=3 << 20)
    uplink = kiosk.uplink(
        chunk_bytes=256 << 10,
        bandwidth_bytes_s=2 << 20,
        backoff_initial_s=0.05,
        backoff_max_s=0.2,
        rpc_timeout_s=5,
    )
    uplink.start()
    await wait_for(lambda: kiosk.state.store.committed_size(packet_id) > (512 << 10))
    await kiosk.restart_receiver()
    partial = kiosk.state.store.committed_size(packet_id)
    assert partial > 0
    uplink.notify()
    await wait_for(lambda: kiosk.outbox.status().depth == 0, limit=40)
    await uplink.stop()
    assert kiosk.delivered() == [packet_id]


async def test_revoked_certificate_is_refused_and_nothing_is_lost(kiosk: Kiosk) -> None:
    ids = kiosk.queue(2)
    kiosk.state.ca.revoke(kiosk.identity.identity.chain[0].serial_number)
    uplink = kiosk.uplink()
    assert not await uplink.drain()
    assert uplink.last_error == "permission_denied"
    assert kiosk.delivered() == []
    assert all(kiosk.outbox.state_of(i) == "queued" for i in ids)


async def test_corrupt_spool_entry_is_quarantined_and_the_rest_delivered(kiosk: Kiosk) -> None:
    bad, *good = kiosk.queue(3)
    path = kiosk.outbox.blobs / f"{bad}.pkt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert await kiosk.uplink().drain()
    assert sorted(kiosk.delivered()) == sorted(good)
    assert kiosk.outbox.state_of(bad) == "quarantined"
    assert (kiosk.outbox.quarantine_dir / f"{bad}.pkt").exists()


@pytest.mark.parametrize("days", [-1, 1])
async def test_kiosk_clock_skewed_by_a_day(
    kiosk: Kiosk, days: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    skewed = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    monkeypatch.setattr("packet.seal.utc_now", lambda: format_timestamp(skewed))
    ids = kiosk.queue(2)
    assert await kiosk.uplink().drain()
    assert sorted(kiosk.delivered()) == sorted(ids)


async def test_full_disk_refuses_new_captures_then_recovers(tmp_path: Path) -> None:
    world = await make_kiosk(tmp_path, quota=6000)
    try:
        world.queue(2, size=2000)
        with pytest.raises(OutboxFull):
            world.queue(1, size=2000)
        assert await world.uplink().drain()
        assert len(world.delivered()) == 2
        world.queue(1, size=2000)  # room again after delivery
    finally:
        await close(world)


async def test_heartbeat_reports_outbox_and_clock(kiosk: Kiosk) -> None:
    import datetime as dt

    from appliance.uplink.heartbeat import Heartbeat
    from drivers.interfaces import DeviceInfo, DeviceKind, DeviceState

    kiosk.queue(2)
    uplink = kiosk.uplink()
    info = DeviceInfo("cam-0", DeviceKind.CAMERA, "sim", "Simulated", "Portrait")
    beat = Heartbeat(
        uplink._channel,
        kiosk.outbox,
        lambda: [(info, DeviceState.READY, None)],
        dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
    )
    result = await beat.beat()
    assert result.clock_ok
    assert abs(result.drift_s) < 5
    assert kiosk.receiver.status_servicer is not None
    [seen] = kiosk.receiver.status_servicer.last_heartbeat.values()
    assert seen.outbox_depth == 2
    assert seen.devices[0].device_id == "cam-0"
    assert 28 <= seen.certificate_days_left <= 30
