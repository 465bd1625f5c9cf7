"""The workflow engine driven directly (no HTTP): the one path, its metrics, its failures.

The engine runs on a provisioned kiosk with simulated devices; the tests call
its steps as the web layer would and check what the capture service counted,
what a failed seal leaves behind, and that background failures reach the
operator.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from appliance.capture.errors import CaptureError
from appliance.demo import capture_all, submit
from appliance.finger.flow import TenPrintFlow
from appliance.workflow.engine import WorkflowEngine
from appliance.workflow.finger_step import slap_task_name
from appliance.workflow.state import Step, TransitionError
from appliance.workflow.submit_step import SEAL_TASK
from drivers.interfaces import CaptureKind
from tests.e2e.world import kiosk_world

pytestmark = pytest.mark.timeout(300)


def _metric(text: str, line: str) -> float:
    for row in text.splitlines():
        if row.startswith(line + " "):
            return float(row.rsplit(" ", 1)[1])
    return 0.0


async def test_an_enrolment_through_the_engine_is_counted_and_sealed(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path, central_up=False) as world:
        workflow = world.app.workflow
        await capture_all(workflow, "AIMA-2026-100001")
        view = workflow.view()
        assert view.step == "review" and view.can_submit
        assert view.face is not None and view.face.compliant is not None
        assert view.fingers is not None and view.fingers.complete
        packet_id = await submit(workflow)
        metrics = world.app.metrics.render().decode()
        assert _metric(metrics, 'appliance_captures_total{type="face"}') == 1
        for kind in CaptureKind:
            if kind.value.startswith("slap_"):
                assert _metric(metrics, f'appliance_captures_total{{type="{kind.value}"}}') >= 1
        assert _metric(metrics, 'appliance_captures_total{type="document"}') == 1
        assert _metric(metrics, "appliance_packets_sealed_total") == 1
        assert world.app.outbox is not None
        assert world.app.outbox.state_of(packet_id) in ("queued", "uploading")
        assert not workflow.capture.active  # the captures exist only sealed


async def test_a_failed_seal_returns_to_review_with_every_capture_kept(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path, central_up=False) as world:
        workflow = world.app.workflow
        await capture_all(workflow, "AIMA-2026-100002")
        before = {c.capture_id for c in workflow.capture.current}
        sealer = workflow.capture.sealer
        assert sealer is not None
        real_seal = sealer.seal

        def full(*_: object) -> object:
            raise CaptureError("outbox.full", "the outbox is full")

        sealer.seal = full  # type: ignore[method-assign]
        await workflow.submission.submit("ana")
        await _wait_task(workflow, SEAL_TASK)
        view = workflow.view()
        assert view.step == "review" and view.sealing.state == "failed"
        assert view.sealing.error == "outbox.full"
        assert workflow.record is not None and workflow.record.packet_id is None
        assert {c.capture_id for c in workflow.capture.current} == before  # consent record gone
        assert world.app.outbox is not None and world.app.outbox.status().depth == 0

        def broken(*_: object) -> object:
            raise RuntimeError("disk on fire")

        sealer.seal = broken  # type: ignore[method-assign]
        await workflow.submission.submit("ana")
        await _wait_task(workflow, SEAL_TASK)
        assert workflow.view().sealing.error == "seal.failed"
        assert workflow.view().step == "review"

        sealer.seal = real_seal  # type: ignore[method-assign]
        packet_id = await submit(workflow)
        assert world.app.outbox.state_of(packet_id) in ("queued", "uploading")


async def test_a_background_failure_is_shown_to_the_operator(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path, central_up=False) as world:
        workflow = world.app.workflow
        await _to_fingerprints(workflow, "AIMA-2026-100003")

        async def explode(*_: object, **__: object) -> object:
            raise RuntimeError("driver bug")

        workflow.capture.capture_slap = explode  # type: ignore[method-assign]
        await workflow.fingers.capture_slap(CaptureKind.SLAP_RIGHT_FOUR)
        await _wait_task(workflow, slap_task_name(CaptureKind.SLAP_RIGHT_FOUR))
        view = workflow.view()
        assert view.problem == "workflow.background_failed"
        assert view.fingers is not None
        assert view.fingers.slaps[0].status == "failed"
        assert view.fingers.slaps[0].error == "finger.failed"
        workflow.acknowledge_notice()
        assert workflow.view().problem is None


async def test_a_device_failure_in_a_slap_names_the_device_error(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path, central_up=False) as world:
        workflow = world.app.workflow
        await _to_fingerprints(workflow, "AIMA-2026-100004")
        reader = workflow.capture.devices.reader()
        reader.faults.unplug()  # type: ignore[attr-defined]
        await workflow.fingers.capture_slap(CaptureKind.SLAP_RIGHT_FOUR)
        await _wait_task(workflow, slap_task_name(CaptureKind.SLAP_RIGHT_FOUR))
        slap = workflow.view().fingers.slaps[0]  # type: ignore[union-attr]
        assert slap.status == "failed" and slap.error == "device.disconnected"
        metrics = world.app.metrics.render().decode()
        assert 'appliance_device_errors_total{error="device.disconnected"' in metrics
        reader.faults.replug()  # type: ignore[attr-defined]


async def test_the_next_slap_is_placed_while_the_last_one_is_judged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader is free once it has a slap's image: the applicant moves on at once."""
    release = threading.Event()
    judge = TenPrintFlow._judge

    def held_judge(flow: TenPrintFlow, kind: CaptureKind, *args: Any) -> Any:
        if kind is CaptureKind.SLAP_RIGHT_FOUR:
            release.wait(60)  # the right hand's judgement takes its time
        return judge(flow, kind, *args)

    monkeypatch.setattr(TenPrintFlow, "_judge", held_judge)
    async with kiosk_world(tmp_path, central_up=False) as world:
        workflow = world.app.workflow
        await _to_fingerprints(workflow, "AIMA-2026-100007")
        steps = workflow.fingers
        right, left = CaptureKind.SLAP_RIGHT_FOUR, CaptureKind.SLAP_LEFT_FOUR
        await steps.capture_slap(right)
        for _ in range(3000):  # the reader's capture of the right hand, at most a minute
            if steps.slaps[right].status != "capturing":
                break
            await asyncio.sleep(0.02)
        assert steps.slaps[right].status == "judging"
        with pytest.raises(TransitionError) as again:
            await steps.capture_slap(right)  # being judged: not taken again meanwhile
        assert again.value.code == "finger.capture_running"
        await steps.capture_slap(left)  # the reader is free: no "finger.reader_busy"
        await _wait_task(workflow, slap_task_name(left))
        assert steps.slaps[left].accepted
        assert steps.slaps[right].status == "judging"
        release.set()
        await _wait_task(workflow, slap_task_name(right))
        assert steps.slaps[right].accepted and steps.slaps[right].status == "done"


async def test_a_missing_finger_needs_a_supervisor_pin_at_the_engine(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path, central_up=False) as world:
        workflow = world.app.workflow
        await _to_fingerprints(workflow, "AIMA-2026-100005")
        with pytest.raises(TransitionError) as wrong:
            await workflow.fingers.declare_missing(4, "XX", "ana", "sofia", "000000")
        assert wrong.value.code == "finger.supervisor_refused"
        with pytest.raises(TransitionError) as self_confirmed:
            await workflow.fingers.declare_missing(4, "XX", "sofia", "sofia", "246810")
        assert self_confirmed.value.code == "finger.supervisor_same_person"
        with pytest.raises(TransitionError) as not_a_supervisor:
            await workflow.fingers.declare_missing(4, "XX", "sofia", "ana", "anything")
        assert not_a_supervisor.value.code == "finger.supervisor_refused"
        await workflow.fingers.declare_missing(4, "XX", "ana", "sofia", "246810")
        assert workflow.record is not None
        assert [m.confirmed_by for m in workflow.record.missing_fingers] == ["sofia"]


async def test_cancel_stops_background_work_and_wipes_captures(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path, central_up=False, finger_delay_s=5.0) as world:
        workflow = world.app.workflow
        await _to_fingerprints(workflow, "AIMA-2026-100006")
        await workflow.fingers.capture_slap(CaptureKind.SLAP_RIGHT_FOUR)
        assert workflow.tasks.running(slap_task_name(CaptureKind.SLAP_RIGHT_FOUR))
        await workflow.cancel()
        assert not workflow.tasks.running(slap_task_name(CaptureKind.SLAP_RIGHT_FOUR))
        assert not workflow.capture.active and workflow.record is None
        with pytest.raises(TransitionError):
            workflow.require(Step.FINGERPRINTS)


async def _to_fingerprints(workflow: WorkflowEngine, reference: str) -> None:
    """Start an enrolment on ``reference`` and take the face: at the fingerprint step."""
    await workflow.start(reference, "en", "ana", identity_confirmed=True)
    await workflow.consent(True)
    await workflow.face.capture_now()
    await workflow.face.accept()


async def _wait_task(workflow: WorkflowEngine, name: str) -> None:
    task = workflow.tasks.task(name)
    if task is not None:
        await asyncio.gather(task, return_exceptions=True)
