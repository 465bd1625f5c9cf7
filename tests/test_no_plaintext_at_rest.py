"""Fill the state directory with real captures; no plaintext biometric may be found on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.enrolment import Enrolment, capture_basic, submit_enrolment
from drivers.sim.camera import SimCamera
from drivers.sim.config import SimCameraConfig, SimReaderConfig
from drivers.sim.reader import SimFingerprintReader
from packet.scan import MAGIC_SIGNATURES, scan_tree
from tests.uplink_world import close, make_kiosk


@pytest.mark.timeout(120)
async def test_state_directory_holds_no_plaintext(tmp_path: Path) -> None:
    world = await make_kiosk(tmp_path)
    await world.receiver.stop(grace=0)  # central unreachable: everything stays in the outbox
    camera = SimCamera(SimCameraConfig(type="sim", width=640, height=480, fps=60))
    reader = SimFingerprintReader(SimReaderConfig(type="sim", finger_delay_s=0, lift_delay_s=0))
    await camera.open()
    await reader.open()
    known: dict[str, bytes] = {}
    try:
        for number in range(3):
            enrolment = Enrolment(
                case_reference=f"AIMA-CASE-{number:04d}", operator_id="op-9", site_id="CLAIM-T"
            )
            await capture_basic(enrolment, camera, reader)
            for item in enrolment.items:
                data = bytes(item.data)  # type: ignore[arg-type]
                known[f"{item.name} head"] = data[64:128]
                known[f"{item.name} middle"] = data[len(data) // 2 : len(data) // 2 + 64]
            known[f"case {number}"] = enrolment.case_reference.encode()
            submit_enrolment(
                enrolment, world.outbox, world.identity.identity, world.identity.central_keys[0]
            )
        assert world.outbox.status().depth == 3
        kiosk_dir = tmp_path / "kiosk"
        findings = scan_tree(kiosk_dir, known)
        assert findings == []
    finally:
        await camera.close()
        await reader.close()
        await close(world)


def test_the_scanner_finds_plaintext(tmp_path: Path) -> None:
    (tmp_path / "leak.jpg").write_bytes(MAGIC_SIGNATURES["jpeg"] + b"rest")
    (tmp_path / "db").write_bytes(b"....AIMA-CASE-0001....")
    findings = scan_tree(tmp_path, {"case": b"AIMA-CASE-0001"})
    assert {f.what for f in findings} == {"jpeg", "case"}
