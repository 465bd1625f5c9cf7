"""The enrolment workflow over HTTP on a provisioned kiosk with simulated devices.

A full enrolment ends sealed in the outbox and delivered to the loopback
central; cancelling wipes the captures; a missing finger needs another
person's supervisor PIN; a restart mid-capture resumes at the face step and a
restart while sealing resolves from the outbox; no plaintext biometric ever
reaches the state directory.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from appliance.workflow.persist import WorkflowFile
from appliance.workflow.state import Step
from packet.scan import scan_tree
from tests.e2e.api_driver import ApiDriver
from tests.e2e.world import CASE_REFERENCE, World, kiosk_world

pytestmark = pytest.mark.timeout(240)


def _client(world: World) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=world.base_url, timeout=60)


async def test_full_enrolment_is_sealed_and_delivered(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path) as world, _client(world) as client:
        driver = ApiDriver(client)
        await driver.login("ana", world.password("ana"))
        assert (await driver.call("get", "/api/workflow"))["active"] is False
        await driver.start(None, "ar")  # case reference from the appointment QR code
        view = await driver.call("get", "/api/workflow")
        assert view["case_reference"] == CASE_REFERENCE and view["step"] == "consent"
        record = (world.root / "state" / "workflow" / "current.json").read_text()
        assert CASE_REFERENCE in record
        await driver.call("post", "/api/workflow/consent", json={"accepted": True})
        await driver.face()
        view = await driver.fingerprints()
        assert view["step"] == "documents"
        slaps = view["fingers"]["slaps"]
        assert [len(s["fingers"]) for s in slaps] == [4, 4, 2]
        assert all(f["nfiq2"] is not None for s in slaps for f in s["fingers"])
        document = await driver.call(
            "post", "/api/workflow/documents", json={"kind": "residence_permit"}
        )
        assert document["documents"][0]["corrected"] is True
        assert document["documents"][0]["format"] == "id1"
        view = await driver.call("post", "/api/workflow/documents/done")
        assert view["step"] == "review" and view["can_submit"] is True
        # Review may go back and retake, then returns straight to review.
        await driver.call("post", "/api/workflow/goto", json={"step": "face"})
        await driver.call("post", "/api/workflow/face/retake")
        await driver.face()
        view = await driver.call("get", "/api/workflow")
        assert view["step"] == "review"
        known = {}
        face_id = view["face"]["capture_id"]
        face = await driver.call("get", f"/api/workflow/captures/{face_id}")
        known["face"] = bytes(face[200:264])
        done = await driver.submit()
        receipt = done["receipt"]
        assert receipt["case_reference"] == CASE_REFERENCE
        assert receipt["items"] == {"face": 1, "fingers": 10, "missing_fingers": 0, "documents": 1}
        assert set(receipt) == {
            "case_reference", "packet_id", "submitted_at", "site_id", "municipality", "kiosk",
            "language", "items",
        }  # fmt: skip
        assert (await client.get(f"/api/workflow/captures/{face_id}")).status_code == 404
        assert world.app.outbox is not None
        assert world.app.outbox.state_of(receipt["packet_id"]) is not None
        assert scan_tree(world.root / "state", known) == []
        await driver.call("post", "/api/workflow/finish")
        assert (await driver.call("get", "/api/workflow"))["active"] is False
        assert not (world.root / "state" / "workflow" / "current.json").exists()
        deadline = time.monotonic() + 30
        while world.app.outbox.state_of(receipt["packet_id"]) not in ("committed", "purged"):
            assert time.monotonic() < deadline, "the packet never reached central"
            await _sleep(0.1)


async def test_cancel_discards_captures(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path) as world, _client(world) as client:
        driver = ApiDriver(client)
        await driver.login("ana", world.password("ana"))
        await driver.start("AIMA-2026-000555", "fr")
        await driver.call("post", "/api/workflow/consent", json={"accepted": True})
        await driver.face()
        view = await driver.call("get", "/api/workflow")
        face_id = view["face"]["capture_id"]
        capture = world.app.workflow.capture
        assert capture.active and len(capture.current) == 1
        await driver.call("delete", "/api/workflow")
        assert not capture.active
        assert (await client.get(f"/api/workflow/captures/{face_id}")).status_code == 404
        assert (await driver.call("get", "/api/workflow"))["active"] is False
        assert world.app.outbox is not None and world.app.outbox.status().depth == 0


async def test_declining_consent_is_acknowledged_then_next_applicant(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path) as world, _client(world) as client:
        driver = ApiDriver(client)
        await driver.login("ana", world.password("ana"))
        await driver.start("AIMA-2026-000556", "hi")
        view = await driver.call("post", "/api/workflow/consent", json={"accepted": False})
        assert view["active"] is True and view["step"] == "declined"
        assert not world.app.workflow.capture.active  # nothing captured, nothing kept
        view = await driver.call("post", "/api/workflow/finish")
        assert view["active"] is False and view["language"] == "pt-PT"


async def test_missing_finger_needs_another_persons_supervisor_pin(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path) as world, _client(world) as client, _client(world) as sup:
        driver = ApiDriver(client)
        await driver.login("ana", world.password("ana"))
        await driver.start("AIMA-2026-000557", "en")
        await driver.call("post", "/api/workflow/consent", json={"accepted": True})
        await driver.face()
        body = {"position": 4, "reason": "XX", "supervisor": "sofia", "pin": "000000"}
        wrong = await client.post("/api/workflow/fingers/missing", json=body)
        assert wrong.status_code == 403 and wrong.json()["error"] == "finger.supervisor_refused"
        not_sup = await client.post(
            "/api/workflow/fingers/missing", json={**body, "supervisor": "ana", "pin": "123456"}
        )
        assert not_sup.status_code == 403
        ok = await driver.call(
            "post", "/api/workflow/fingers/missing", json={**body, "pin": "246810"}
        )
        assert ok["fingers"]["exceptions"] == [
            {"position": 4, "reason": "XX", "declared_by": "ana", "confirmed_by": "sofia"}
        ]
        right = await driver.slap("slap_right_four")
        assert right["missing"] == [4] and right["accepted"], right
        assert [f["position"] for f in right["fingers"]] == [2, 3, 5]
        await driver.slap("slap_left_four")
        await driver.slap("slap_thumbs")
        view = await driver.call("post", "/api/workflow/fingers/done")
        assert view["step"] == "documents"
        # Another user cannot act on ana's enrolment (issue 14: resume or discard first).
        supervisor = ApiDriver(sup)
        await supervisor.login("sofia", world.password("sofia"))
        other = await sup.post("/api/workflow/goto", json={"step": "fingerprints"})
        assert other.status_code == 423 and other.json()["error"] == "workflow.other_operator"
        await driver.documents()
        done = await driver.submit()
        assert done["receipt"]["items"]["missing_fingers"] == 1
        assert done["receipt"]["items"]["fingers"] == 9
        await driver.call("post", "/api/workflow/finish")
        # A supervisor enrolling may not confirm their own exception.
        await supervisor.start("AIMA-2026-000558", "en")
        await supervisor.call("post", "/api/workflow/consent", json={"accepted": True})
        await supervisor.face()
        self_confirm = await sup.post(
            "/api/workflow/fingers/missing",
            json={"position": 7, "reason": "UP", "supervisor": "sofia", "pin": "246810"},
        )
        assert self_confirm.status_code == 403
        assert self_confirm.json()["error"] == "finger.supervisor_same_person"


async def test_restart_mid_capture_resumes_at_face(tmp_path: Path) -> None:
    async with kiosk_world(tmp_path / "a") as world, _client(world) as client:
        driver = ApiDriver(client)
        await driver.login("ana", world.password("ana"))
        await driver.start("AIMA-2026-000558", "uk")
        await driver.call("post", "/api/workflow/consent", json={"accepted": True})
        await driver.face()
        state = world.root / "state"
    # The kiosk "crashed" with the enrolment at the fingerprint step; boot it again.
    record = WorkflowFile(state / "workflow").load()
    assert record is not None and record.step is Step.FINGERPRINTS
    async with kiosk_world(tmp_path / "a") as world, _client(world) as client:
        driver = ApiDriver(client)
        await driver.login("ana", world.password("ana"))
        view = await driver.call("get", "/api/workflow")
        assert view["step"] == "face" and view["case_reference"] == "AIMA-2026-000558"
        assert view["consent"]["given"] is True and view["language"] == "uk"
        assert view["notice"] == "workflow.resumed_after_restart"
        await driver.call("post", "/api/workflow/notice/ack")
        await driver.face()
        await driver.fingerprints()
        await driver.documents()
        done = await driver.submit()
        assert done["step"] == "done"


async def test_restart_while_sealing_never_half_submits(tmp_path: Path) -> None:
    root = tmp_path / "b"
    async with kiosk_world(root) as world:
        pass
    store = WorkflowFile(root / "state" / "workflow")
    from appliance.workflow.state import WorkflowRecord

    record = WorkflowRecord(case_reference="AIMA-2026-000559", operator="ana", language="es")
    record.step = Step.SUBMITTING
    record.packet_id = "0190f0f0-0000-7000-8000-000000000001"
    store.save(record)
    async with kiosk_world(root) as world, _client(world) as client:
        driver = ApiDriver(client)
        await driver.login("ana", world.password("ana"))
        view = await driver.call("get", "/api/workflow")
        assert view["step"] == "aborted" and view["notice"] == "workflow.aborted_after_restart"
        assert world.app.outbox is not None and world.app.outbox.status().depth == 0
        await driver.call("post", "/api/workflow/finish")
        assert (await driver.call("get", "/api/workflow"))["active"] is False


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
