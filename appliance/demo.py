"""End-to-end demo: a local receiver, a provisioned kiosk, N simulated enrolments.

Every packet goes capture -> seal -> outbox -> gRPC upload -> verified receipt.
The figures are counted by the receiver: ``delivered`` is the number of the
demo's packets central holds, ``duplicates`` the number of enrolments (case
references) central holds more than once, ``lost`` the enrolments it lacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.enrolment import Enrolment, capture_basic, submit_enrolment
from appliance.identity.store import IdentityFiles, LoadedIdentity, provision
from appliance.local_central import local_central
from appliance.outbox import Outbox
from appliance.uplink.client import TlsMaterial, Uplink, UplinkSettings, secure_channel
from drivers.sim.camera import SimCamera
from drivers.sim.config import SimCameraConfig, SimReaderConfig
from drivers.sim.reader import SimFingerprintReader

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoResult:
    enrolments: int
    delivered: int
    lost: int
    duplicates: int
    seconds: float

    def to_json(self) -> str:
        return json.dumps(
            {
                "enrolments": self.enrolments,
                "delivered": self.delivered,
                "lost": self.lost,
                "duplicates": self.duplicates,
                "seconds": round(self.seconds, 2),
            }
        )


async def run_demo(
    enrolments: int,
    work_dir: Path | None = None,
    progress: bool = False,
    drain_timeout_s: float = 120.0,
) -> DemoResult:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="appliance-demo-") as tmp:
        root = work_dir or Path(tmp)
        packet_ids: list[str] = []
        token = secrets.token_urlsafe(16)
        async with contextlib.AsyncExitStack() as stack:
            central = await stack.enter_async_context(local_central(root / "central", [token]))
            identity = await provision(
                IdentityFiles(root / "kiosk" / "identity"),
                central=central.enrol,
                token=token,
                site_id="CLAIM-DEMO-001",
                kiosk_name="demo-kiosk",
                secret=secrets.token_bytes(32).hex().encode(),
                central_ca_pem=central.ca_pem,
            )
            outbox = Outbox(root / "kiosk" / "outbox", quota_bytes=2 << 30)
            stack.callback(outbox.close)
            uplink = _uplink(identity, outbox, central.upload)
            uplink.start()
            stack.push_async_callback(uplink.stop)
            camera = SimCamera(SimCameraConfig(type="sim", width=1024, height=768, fps=60))
            reader = SimFingerprintReader(
                SimReaderConfig(type="sim", finger_delay_s=0, lift_delay_s=0, subject_seed=3)
            )
            await camera.open()
            stack.push_async_callback(camera.close)
            await reader.open()
            stack.push_async_callback(reader.close)
            for number in range(enrolments):
                enrolment = Enrolment(
                    case_reference=f"DEMO-{number:05d}",
                    operator_id="demo-op",
                    site_id="CLAIM-DEMO-001",
                )
                await capture_basic(enrolment, camera, reader)
                entry = await asyncio.to_thread(
                    submit_enrolment,
                    enrolment,
                    outbox,
                    identity.identity,
                    identity.central_keys[0],
                )
                packet_ids.append(entry.packet_id)
                uplink.notify()
                if progress:
                    logger.info("enrolment %d sealed", number + 1)
            await _wait_until_drained(outbox, drain_timeout_s)
            held = (await central.report())["packets"]
            delivered, duplicates = count_at_receiver(
                [(row["packet_id"], row["case_reference"]) for row in held], packet_ids, enrolments
            )
    return DemoResult(
        enrolments, delivered, enrolments - delivered, duplicates, time.monotonic() - started
    )


async def _wait_until_drained(outbox: Outbox, timeout_s: float) -> None:
    """Poll the outbox (it lives in SQLite, shared with the uplink) until it is empty."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not outbox.status().depth:
            return
        await asyncio.sleep(0.05)


def count_at_receiver(
    stored: list[tuple[str, str]], packet_ids: list[str], enrolments: int
) -> tuple[int, int]:
    """(delivered, duplicates) from central's (packet_id, case_reference) rows."""
    ours = set(packet_ids)
    cases: dict[str, int] = {}
    delivered = 0
    for packet_id, case in stored:
        if packet_id in ours:
            delivered += 1
            cases[case] = cases.get(case, 0) + 1
    duplicates = sum(count - 1 for count in cases.values())
    return min(delivered - duplicates, enrolments), duplicates


def _uplink(identity: LoadedIdentity, outbox: Outbox, address: str) -> Uplink:
    tls = TlsMaterial(
        client_key_pem=identity.client_key_pem(),
        client_chain_pem=identity.chain_pem(),
        trust_anchors_pem=identity.trust_anchors_pem,
    )
    channel = secure_channel(address, tls)
    return Uplink(outbox, channel, identity.receipt_signer, UplinkSettings(concurrency=2))
