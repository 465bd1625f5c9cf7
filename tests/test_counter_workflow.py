"""The counter's rules in the workflow engine (issue 14), on a provisioned kiosk:

- a device the enrolment needs that is not ready refuses the start, naming it and
  the recovery action, and shows during a step;
- a consent refusal is a step of its own (``declined``), recorded as an operation;
- "next applicant" resets the language;
- a case already enrolled on this kiosk warns before capture (a keyed hash in the
  outbox, never the reference), and the receipt tells stored from received;
- another user resumes (same role) or discards (a supervisor's PIN with captures);
- the applicant's screen carries no case reference;
- the printed receipt is ESC/POS with the packet's QR code.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from appliance.demo import capture_all
from appliance.workflow.engine import WorkflowEngine
from appliance.workflow.operations import EVENTS
from appliance.workflow.state import Step, TransitionError
from appliance.workflow.submit_step import SEAL_TASK
from tests.e2e.world import kiosk_world, replug_reader, unplug_reader

pytestmark = pytest.mark.timeout(300)


class Operations(list[tuple[str, dict[str, Any]]]):
    def __call__(self, event: str, details: dict[str, Any]) -> None:
        if event in EVENTS:  # the workflow's own (the record of operations has more)
            self.append((event, details))

    def names(self) -> list[str]:
        return [event for event, _ in self]


async def _sealed(workflow: WorkflowEngine, case: str) -> str:
    await capture_all(workflow, case)
    await workflow.submission.submit("operator")
    task = workflow.tasks.task(SEAL_TASK)
    if task is not None:
        await task
    record = workflow.require(Step.DONE)
    assert record.packet_id is not None
    return record.packet_id


async def test_devices_refusal_consent_language_and_duplicates(tmp_path: Path) -> None:
    ops = Operations()
    async with kiosk_world(tmp_path, central_up=False, on_operation=ops) as world:
        workflow = world.app.workflow
        await unplug_reader(world.app)
        with pytest.raises(TransitionError) as refused:
            await workflow.start("AIMA-2026-200001", "ar", "ana", identity_confirmed=True)
        assert refused.value.code == "workflow.devices_not_ready"
        devices = refused.value.extra["devices"]
        assert [d["role"] for d in devices] == ["fingerprint_reader"]
        assert devices[0]["action"] in ("reconnect", "call_technician")
        assert workflow.view().devices[0].role == "fingerprint_reader"
        await replug_reader(world.app)
        assert workflow.view().devices == []

        # The language chosen for one applicant does not carry over to the next.
        await workflow.set_language("ar")
        assert workflow.view().language == "ar"
        await workflow.start("AIMA-2026-200001", "ar", "ana", identity_confirmed=True)
        await workflow.consent(False, "ana")
        view = workflow.view()
        assert view.step == "declined" and not workflow.capture.active
        await workflow.finish()
        assert workflow.view().language == "pt-PT"
        assert "consent.refused" in ops.names()
        refusal = dict(ops)["consent.refused"]
        assert refusal["language"] == "ar" and "AIMA" not in str(refusal)

        # A case sealed here warns before capture; the digest, not the reference, is stored.
        packet_id = await _sealed(workflow, "AIMA-2026-200002")
        assert workflow.view().delivery is not None
        assert workflow.view().delivery.state == "stored"  # type: ignore[union-attr]
        await workflow.finish()
        with pytest.raises(TransitionError) as warned:
            await workflow.start("aima-2026-200002 ", "en", "ana", identity_confirmed=True)
        assert warned.value.code == "case.already_enrolled"
        await workflow.start(
            "AIMA-2026-200002", "en", "ana", acknowledge_duplicate=True, identity_confirmed=True
        )
        assert workflow.view().step == "consent"
        warned_ops = [d for e, d in ops if e == "enrolment.duplicate_warned"]
        assert [d["acknowledged"] for d in warned_ops] == [False, True]
        await workflow.cancel("ana")
        assert world.app.outbox is not None
        db = sqlite3.connect(world.app.outbox.root / "outbox.sqlite")
        rows = db.execute("SELECT case_digest FROM packets WHERE packet_id = ?", (packet_id,))
        digest = rows.fetchone()[0]
        db.close()
        assert len(digest) == 64 and "200002" not in digest
        raw = (world.app.outbox.root / "outbox.sqlite").read_bytes()
        assert b"AIMA-2026-200002" not in raw


async def test_receipt_turns_received_with_centrals_receipt_and_prints(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path) as world:
        workflow = world.app.workflow
        packet_id = await _sealed(workflow, "AIMA-2026-200003")
        for _ in range(200):
            delivery = workflow.view().delivery
            assert delivery is not None
            if delivery.state == "received":
                break
            await asyncio.sleep(0.1)
        assert delivery.state == "received" and delivery.receipt_id
        assert delivery.received_at and delivery.received_at.endswith("Z")
        printing = world.app.receipt_printing
        assert printing is not None
        record = workflow.require(Step.DONE)
        assert record.receipt is not None
        await printing.print_receipt({**record.receipt, "language": "ar"}, delivery)
        job = printing.printer.jobs[-1]  # type: ignore[attr-defined]
        assert job.startswith(b"\x1b@")  # ESC @: initialise
        assert b"\x1d(k" in job and packet_id.encode() in job  # the printer's own QR command
        assert b"\x1dV" in job  # cut
        with pytest.raises(TransitionError) as duplicate:
            await workflow.finish()
            await workflow.start("AIMA-2026-200003", "en", "ana", identity_confirmed=True)
        assert duplicate.value.code == "case.already_delivered"


async def test_handover_resume_same_role_discard_with_supervisor(tmp_path: Path) -> None:
    ops = Operations()
    async with kiosk_world(tmp_path, central_up=False, on_operation=ops) as world:
        workflow = world.app.workflow
        await workflow.start("AIMA-2026-200004", "uk", "ana", "operator", identity_confirmed=True)
        await workflow.consent(True, "ana")
        await workflow.face.capture_now()
        with pytest.raises(TransitionError):
            workflow.check_owner("sofia")
        await workflow.handover.pause("ana")
        view = workflow.view()
        assert view.paused and view.has_captures
        applicant = workflow.applicant_view()
        assert applicant.step is None  # a paused enrolment is not shown to anyone
        with pytest.raises(TransitionError) as other_role:
            await workflow.handover.resume("sofia", "supervisor")
        assert other_role.value.code == "workflow.resume_other_role"
        with pytest.raises(TransitionError) as needs_pin:
            await workflow.handover.discard("sofia", None, None)
        assert needs_pin.value.code == "workflow.discard_needs_supervisor"
        await workflow.handover.resume("ana", "operator")  # the same user picks it up
        assert workflow.applicant_view().step == "face"
        assert "AIMA" not in repr(workflow.applicant_view())
        await workflow.handover.pause("ana")
        await workflow.handover.discard("bruno", "sofia", "246810")
        assert not workflow.view().active and not workflow.capture.active
        discarded = dict(ops)["enrolment.discarded"]
        assert discarded["confirmed_by"] == "sofia" and discarded["had_captures"]
        assert ops.names()[:3] == ["enrolment.started", "consent.given", "enrolment.paused"]
