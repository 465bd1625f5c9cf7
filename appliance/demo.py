"""End-to-end demo: a local central, a provisioned kiosk, N simulated enrolments.

The demo is a kiosk like any other: the composition root builds it (simulated
camera, document camera and reader; the web server is not needed), and every
enrolment goes through the one path - case verified at central (synthetic cases
seeded for the demo site, the day's list pulled at start) -> workflow -> capture
service (ICAO check, NFIQ 2 per finger, WSQ and ANSI/NIST records, document correction) -> seal ->
outbox -> gRPC upload -> verified receipt. Central is the reference receiver,
run as a child process (:mod:`appliance.local_central`).

The figures are counted at central (``appliance-receiver report``): ``delivered``
is the number of the demo's packets central holds, ``duplicates`` the number of
enrolments (case references) it holds more than once, ``lost`` the enrolments
it lacks, and ``with_quality`` the packets whose manifest carries the ICAO
figures of the face and an NFIQ 2 score for every finger.

The record of operations is checked on both sides: ``audit_verified`` is
``appliance audit verify`` on the kiosk's log after the run (every entry hash,
every checkpoint signature and consistency) together with central having
accepted the kiosk's last checkpoint without flagging it (central checks the
consistency proof of every checkpoint it accepts); ``ledger_matches_receipts``
says every daily ledger the kiosk signed matches the receipts central issued and
counts every delivered enrolment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from appliance.app import Appliance
from appliance.audit import verify_log
from appliance.config import ApplianceConfig
from appliance.documents.presented import SimulatedCounter
from appliance.identity.store import IdentityFiles, provision
from appliance.local_central import local_central
from appliance.outbox import Outbox
from appliance.workflow.engine import WorkflowEngine
from appliance.workflow.finger_step import slap_task_name
from appliance.workflow.state import Step
from appliance.workflow.submit_step import SEAL_TASK
from drivers.sim.documents import document_scene

logger = logging.getLogger(__name__)

SITE = "CLAIM-DEMO-001"
OPERATOR = "demo-op"
SLAP_ATTEMPTS = 3


class DemoError(RuntimeError):
    """An enrolment of the demo did not go through; the message says where."""


@dataclass(frozen=True)
class DemoResult:
    enrolments: int
    delivered: int
    lost: int
    duplicates: int
    with_quality: int
    seconds: float
    audit_verified: bool = False
    ledger_matches_receipts: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {
                "enrolments": self.enrolments,
                "delivered": self.delivered,
                "lost": self.lost,
                "duplicates": self.duplicates,
                "with_quality": self.with_quality,
                "audit_verified": self.audit_verified,
                "ledger_matches_receipts": self.ledger_matches_receipts,
                "seconds": round(self.seconds, 2),
            }
        )


def demo_config(root: Path, central_upload: str) -> ApplianceConfig:
    scene = root / "document-scene.png"
    cv2.imwrite(str(scene), document_scene(seed=1))
    return ApplianceConfig.model_validate(
        {
            "profile": "demo",
            "site": {"claim_id": SITE, "municipality": "Demo", "kiosk_name": "demo-kiosk"},
            "central": {"endpoint": central_upload},
            "devices": {
                "face_camera": {"type": "sim", "width": 1024, "height": 768, "fps": 60},
                "document_camera": {"type": "file", "paths": [str(scene)], "fps": 30},
                "fingerprint_reader": {
                    "type": "sim",
                    "finger_delay_s": 0,
                    "lift_delay_s": 0,
                    "subject_seed": 3,
                },
            },
            "storage": {"state_dir": str(root / "kiosk"), "quota_mb": 2048},
            "web": {"port": 0},
            "logging": {"level": "WARNING", "json_logs": True},
        }
    )


@contextlib.contextmanager
def _credentials(directory: Path, secret: bytes) -> Iterator[None]:
    """The device key's passphrase as a systemd credential would provide it."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    (directory / "device-key-passphrase").write_bytes(secret)
    previous = os.environ.get("CREDENTIALS_DIRECTORY")
    os.environ["CREDENTIALS_DIRECTORY"] = str(directory)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("CREDENTIALS_DIRECTORY", None)
        else:
            os.environ["CREDENTIALS_DIRECTORY"] = previous


async def enrol(workflow: WorkflowEngine, case_reference: str) -> str:
    """One applicant through every step, as an operator would; returns the packet id."""
    await capture_all(workflow, case_reference)
    return await submit(workflow)


async def capture_all(
    workflow: WorkflowEngine, case_reference: str, operator: str = OPERATOR
) -> None:
    """Start, consent, face, the three slaps and a document: the enrolment is at review.

    The case is looked up and the operator confirms the applicant's identity, as at
    the counter (the case must exist at central for the kiosk's site).
    """
    await to_documents(workflow, case_reference, operator)
    await workflow.documents.capture("passport")
    await workflow.finish_documents()


async def to_documents(
    workflow: WorkflowEngine, case_reference: str, operator: str = OPERATOR
) -> None:
    """Start, consent, face and the three slaps: the enrolment is at the documents step."""
    await workflow.case.look_up(case_reference, operator)
    await workflow.start(case_reference, "pt-PT", operator, identity_confirmed=True)
    await workflow.consent(True)
    await workflow.face.capture_now()
    await workflow.face.accept()
    for kind in workflow.fingers.slaps:
        for _ in range(SLAP_ATTEMPTS):
            await workflow.fingers.capture_slap(kind)
            task = workflow.tasks.task(slap_task_name(kind))
            if task is not None:
                await task
            if workflow.fingers.slaps[kind].accepted:
                break
        else:
            raise DemoError(f"slap {kind.value} was not accepted in {SLAP_ATTEMPTS} attempts")
    await workflow.fingers.finish()


async def submit(workflow: WorkflowEngine) -> str:
    """Submit from review and wait for the seal; returns the packet id."""
    await workflow.submission.submit(OPERATOR)
    task = workflow.tasks.task(SEAL_TASK)
    if task is not None:
        await task
    record = workflow.require(Step.DONE)
    packet_id = record.packet_id
    if packet_id is None:
        raise DemoError("the enrolment was not sealed")
    await workflow.finish()
    return packet_id


async def run_demo(
    enrolments: int,
    work_dir: Path | None = None,
    progress: bool = False,
    drain_timeout_s: float = 120.0,
) -> DemoResult:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="appliance-demo-") as tmp:
        root = work_dir or Path(tmp)
        token = secrets.token_urlsafe(16)
        secret = secrets.token_bytes(32).hex().encode()
        packet_ids: list[str] = []
        async with local_central(root / "central", [token]) as central:
            references = await central.seed_cases(SITE, enrolments)
            config = demo_config(root, central.upload)
            await provision(
                IdentityFiles(config.storage.state_dir / "identity"),
                central=central.enrol,
                token=token,
                site_id=SITE,
                kiosk_name="demo-kiosk",
                secret=secret,
                central_ca_pem=central.ca_pem,
            )
            app = Appliance(config, serve_web=False)
            # Each applicant shows their own (simulated) document under the camera.
            counter = SimulatedCounter(
                root / "document-scene.png",
                lambda: app.workflow.case.bound.case if app.workflow.case.bound else None,
            )
            app.observe_operation = counter.on_operation
            with _credentials(root / "credentials", secret):
                await app.start()
            try:
                for number, reference in enumerate(references[:enrolments]):
                    packet_ids.append(await enrol(app.workflow, reference))
                    if progress:
                        logger.info("enrolment %d sealed", number + 1)
                assert app.outbox is not None
                await _wait_until_drained(app.outbox, drain_timeout_s)
            finally:
                await app.stop()
                await asyncio.to_thread(counter.settle)
            report = await central.report()
            held = report["packets"]
            assert app.identity is not None
            device_id = app.identity.identity.device_id
            audit = await asyncio.to_thread(verify_log, config.storage.state_dir / "audit")
    delivered, duplicates = count_at_receiver(
        [(row["packet_id"], row["case_reference"]) for row in held], packet_ids, enrolments
    )
    ours = [row for row in held if row["packet_id"] in set(packet_ids)]
    return DemoResult(
        enrolments,
        delivered,
        enrolments - delivered,
        duplicates,
        sum(1 for row in ours if has_quality_figures(row["items"])),
        time.monotonic() - started,
        audit_verified=audit.ok and central_accepted(report, device_id, audit.head_size),
        ledger_matches_receipts=ledgers_match(report, device_id, delivered),
    )


def central_accepted(report: dict[str, Any], device_id: str, size: int) -> bool:
    """Central holds the kiosk's log up to its last checkpoint and flagged nothing."""
    devices = [d for d in report["audit"]["devices"] if d["device_id"] == device_id]
    flags = [f for f in report["audit"]["flags"] if f["device_id"] == device_id]
    return (
        len(devices) == 1
        and not devices[0]["flagged"]
        and not flags
        and devices[0]["checkpoint_size"] == size
    )


def ledgers_match(report: dict[str, Any], device_id: str, delivered: int) -> bool:
    """Every day's ledger matches central's receipts and they count every delivery."""
    days = [d for d in report["ledgers"]["days"] if d["device_id"] == device_id]
    return (
        bool(days)
        and all(d["matches_receipts"] for d in days)
        and sum(d["delivered"] for d in days) == delivered
    )


def has_quality_figures(items: list[dict[str, Any]]) -> bool:
    """The face carries its ICAO verdict and figures; every finger its NFIQ 2 score."""
    faces = [i for i in items if i["type"] == "face"]
    fingers = [i for i in items if i["type"] == "finger"]
    return (
        len(faces) == 1
        and "icao_compliant" in faces[0]["quality"]
        and any(key.startswith("icao.") for key in faces[0]["quality"])
        and len(fingers) >= 1
        and all("nfiq2" in f["quality"] for f in fingers)
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
