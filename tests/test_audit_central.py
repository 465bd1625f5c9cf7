"""Central's AuditService over loopback mTLS: accepted logs, flagged rewrites, ledgers.

Done-when of issue 17: truncating the log, or re-signing a rewritten history, is
detected by central (flagged, stored, counted, in the report).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization

from aima.enrolment.v1 import audit_pb2, audit_pb2_grpc
from appliance.audit import AuditService, AuditSettings, verify_log
from appliance.uplink.client import (
    TlsMaterial,
    Uplink,
    UplinkSettings,
    error_reason,
    secure_channel,
)
from tests.audit_world import enrolment, make_signer
from tests.uplink_world import Kiosk, close, make_kiosk, wait_for
from transparency.checkpoint import Checkpoint, sign_checkpoint
from transparency.ledger import read_ledger, sign_ledger

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def kiosk(tmp_path: Path) -> AsyncIterator[Kiosk]:
    world = await make_kiosk(tmp_path)
    try:
        yield world
    finally:
        await close(world)


def _channel(kiosk: Kiosk) -> grpc.aio.Channel:
    identity = kiosk.identity
    tls = TlsMaterial(identity.client_key_pem(), identity.chain_pem(), identity.trust_anchors_pem)
    return secure_channel(f"127.0.0.1:{kiosk.port}", tls)


def _service(kiosk: Kiosk, state_dir: Path, channel: grpc.aio.Channel) -> AuditService:
    settings = AuditSettings(
        checkpoint_interval_s=3600, retention_days=90, time_zone="Europe/Lisbon", site_id="CLAIM-T"
    )
    audit = AuditService(state_dir, settings, signer=kiosk.identity.identity)
    audit.open("demo", {"site": {"claim_id": "CLAIM-T"}})
    audit.log.strict = True
    audit.start(channel)
    return audit


async def _central_state(kiosk: Kiosk) -> object:
    return await kiosk.state.storage.audit.state(kiosk.identity.identity.device_id)


async def test_the_log_reaches_central_and_every_checkpoint_is_accepted(kiosk: Kiosk) -> None:
    channel = _channel(kiosk)
    audit = _service(kiosk, kiosk.root / "kiosk", channel)
    try:
        for number in range(3):
            enrolment(audit.log, number, f"CASE-{number}")
            result = await audit.round()
            assert result is not None and result.problem is None
        state = await _central_state(kiosk)
        assert state.entries_held == audit.log.size == state.checkpoint_size  # type: ignore[attr-defined]
        assert not state.flagged  # type: ignore[attr-defined]
        again = await audit.round()  # nothing new: idempotent
        assert again is not None and again.problem is None
        held = await kiosk.state.storage.audit.entries(kiosk.identity.identity.device_id, 0, 2)
        assert held[0].startswith(b'{"event":"audit.opened"')
        assert kiosk.state.metrics.audit_checkpoints.labels(result="accepted")._value.get() == 3
    finally:
        await audit.stop()
        await channel.close()


async def _diverging_log(kiosk: Kiosk, directory: Path, keep: int, extra: int) -> AuditService:
    """A second log for the same device: the first ``keep`` entries of the honest one
    (rewritten by re-appending them), then ``extra`` new ones, re-signed."""
    channel = _channel(kiosk)
    forged = _service(kiosk, directory, channel)
    for number in range(keep + extra):
        forged.log.append("auth.login", user=f"forger{number}", role="operator")
    return forged


async def test_a_truncated_log_is_flagged_by_central(kiosk: Kiosk) -> None:
    channel = _channel(kiosk)
    honest = _service(kiosk, kiosk.root / "kiosk", channel)
    try:
        for number in range(4):
            enrolment(honest.log, number, f"CASE-{number}")
        await honest.round()
        accepted = (await _central_state(kiosk)).checkpoint_size  # type: ignore[attr-defined]
        # The kiosk's log is cut back to a few entries and signed again.
        truncated = kiosk.root / "truncated"
        (truncated / "audit").mkdir(parents=True)
        lines = sorted((kiosk.root / "kiosk" / "audit").glob("segment-*"))[0].read_bytes()
        kept = b"".join(lines.splitlines(keepends=True)[:5])
        (truncated / "audit" / "segment-000000000000.log").write_bytes(kept)
        (truncated / "case-key").write_bytes((kiosk.root / "kiosk" / "case-key").read_bytes())
        cut = AuditService(truncated, honest.settings, signer=kiosk.identity.identity)
        cut.log.open()
        cut.log.checkpoint()
        cut.start(channel)
        result = await cut.round()
        assert result is not None and result.problem == "AUDIT_INCONSISTENT"
        flags = await kiosk.state.storage.audit.flags()
        assert [(f.kind, f.checkpoint_size) for f in flags] == [("truncated", 5)]
        state = await _central_state(kiosk)
        assert state.flagged and state.checkpoint_size == accepted  # type: ignore[attr-defined]
        assert kiosk.state.metrics.audit_flags.labels(kind="truncated")._value.get() == 1
        await cut.stop()
    finally:
        await honest.stop()
        await channel.close()


async def test_a_rewritten_history_re_signed_is_flagged_by_central(kiosk: Kiosk) -> None:
    channel = _channel(kiosk)
    honest = _service(kiosk, kiosk.root / "kiosk", channel)
    try:
        for number in range(3):
            enrolment(honest.log, number, f"CASE-{number}")
        await honest.round()
        accepted = (await _central_state(kiosk)).checkpoint_size  # type: ignore[attr-defined]
        forged = await _diverging_log(kiosk, kiosk.root / "forged", accepted, 6)
        result = await forged.round()  # a valid signature over a rewritten history
        assert result is not None and result.problem == "AUDIT_INCONSISTENT"
        flags = await kiosk.state.storage.audit.flags()
        assert [f.kind for f in flags] == ["inconsistent"]
        state = await _central_state(kiosk)
        assert state.checkpoint_size == accepted  # type: ignore[attr-defined]
        assert state.entries_held == accepted  # the rewritten entries were not kept  # type: ignore[attr-defined]
        # The honest log still verifies locally; the report shows the flag.
        assert verify_log(kiosk.root / "kiosk" / "audit").ok
        report = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "central.main", "report", "--dir", str(kiosk.root / "central")],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        flagged = json.loads(report.stdout)["audit"]["flags"]
        assert flagged[0]["kind"] == "inconsistent"
        await forged.stop()
    finally:
        await honest.stop()
        await channel.close()


async def test_other_contradictions_are_flagged(kiosk: Kiosk) -> None:
    """Same size with another root; entries that differ from those held; a bad signature."""
    channel = _channel(kiosk)
    honest = _service(kiosk, kiosk.root / "kiosk", channel)
    stub = audit_pb2_grpc.AuditServiceStub(channel)
    identity = kiosk.identity.identity
    chain = [c.public_bytes(serialization.Encoding.DER) for c in identity.chain]
    try:
        enrolment(honest.log, 0, "CASE-0")
        await honest.round()
        state = await _central_state(kiosk)
        size = state.checkpoint_size  # type: ignore[attr-defined]
        key = identity.chain[0].public_key()
        other = Checkpoint(identity.device_id, size, b"\x07" * 32, "2026-11-23T10:00:00.000Z")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.UploadAudit(
                audit_pb2.UploadAuditRequest(
                    first_index=size,
                    checkpoint=sign_checkpoint(other, identity.sign, key),  # type: ignore[arg-type]
                    signer_certificate_chain_der=chain,
                )
            )
        assert error_reason(caught.value) == "AUDIT_INCONSISTENT"
        first = (await kiosk.state.storage.audit.entries(identity.device_id, 0, 1))[0]
        changed = first.replace(b'"audit.opened"', b'"audit.pruned"', 1)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.UploadAudit(audit_pb2.UploadAuditRequest(first_index=0, entries=[changed]))
        assert caught.value.code() in (
            grpc.StatusCode.FAILED_PRECONDITION,
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        impostor = make_signer(identity.device_id)
        later = Checkpoint(identity.device_id, size, b"\x01" * 32, "2026-11-23T10:00:00.000Z")
        note = sign_checkpoint(later, impostor.sign, impostor.chain[0].public_key())  # type: ignore[arg-type]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.UploadAudit(
                audit_pb2.UploadAuditRequest(
                    first_index=size, checkpoint=note, signer_certificate_chain_der=chain
                )
            )
        assert error_reason(caught.value) == "AUDIT_SIGNATURE_INVALID"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.UploadAudit(audit_pb2.UploadAuditRequest(first_index=size + 5))
        assert error_reason(caught.value) == "AUDIT_ENTRIES_GAP"
        kinds = sorted(f.kind for f in await kiosk.state.storage.audit.flags())
        assert kinds == ["bad_signature", "rewritten"]
    finally:
        await honest.stop()
        await channel.close()


async def test_ledgers_are_reconciled_with_central_receipts(kiosk: Kiosk) -> None:
    channel = _channel(kiosk)
    audit = _service(kiosk, kiosk.root / "kiosk", channel)
    uplink = Uplink(
        kiosk.outbox,
        channel,
        kiosk.identity.receipt_signer,
        UplinkSettings(),
        on_operation=audit.record,
    )
    try:
        packets = kiosk.queue(3)
        uplink.start()
        await wait_for(lambda: len(kiosk.delivered()) == 3)
        await wait_for(lambda: audit.book.ledger(audit.today()).counts["delivered"] == 3)
        result = await audit.round()
        assert result is not None and result.problem is None
        assert result.ledgers_sent >= 1 and result.ledgers_matching == result.ledgers_sent
        held = await kiosk.state.storage.audit.ledgers()
        assert len(held) == 1 and held[0].matches and held[0].receipts == 3
        ledger = read_ledger(held[0].note)
        assert sorted(d.packet_id for d in ledger.delivered) == sorted(packets)
        # A forged ledger claiming a delivery central never receipted is reported.
        ledger.revision += 1
        ledger.delivered.append(
            type(ledger.delivered[0])("0" * 32, ledger.delivered[0].accepted_at)
        )
        ledger.counts["delivered"] += 1
        identity = kiosk.identity.identity
        note = sign_ledger(ledger, identity.sign, identity.chain[0].public_key())  # type: ignore[arg-type]
        stub = audit_pb2_grpc.AuditServiceStub(channel)
        chain = [c.public_bytes(serialization.Encoding.DER) for c in identity.chain]
        answer = await stub.UploadLedger(
            audit_pb2.UploadLedgerRequest(ledger=note, signer_certificate_chain_der=chain)
        )
        assert not answer.matches_receipts and list(answer.unknown_at_central) == ["0" * 32]
        assert kiosk.state.metrics.ledgers.labels(result="mismatch")._value.get() == 1
    finally:
        await uplink.stop()
        await audit.stop()
        await channel.close()
        await asyncio.sleep(0)
