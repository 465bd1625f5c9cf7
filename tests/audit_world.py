"""A device signer (key + certificate from a test device CA) and helpers for audit tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.audit.log import AuditLog
from appliance.audit.pseudonym import CaseKey
from central.device_ca import DeviceCA


@dataclass
class TestSigner:
    """Signs like :class:`appliance.identity.device.DeviceIdentity` (ECDSA P-256/SHA-256)."""

    key: ec.EllipticCurvePrivateKey
    chain: tuple[x509.Certificate, ...]
    device_id: str

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


def make_signer(device_id: str = "dev-test00000001", ca: DeviceCA | None = None) -> TestSigner:
    ca = ca or DeviceCA.create()
    key = ec.generate_private_key(ec.SECP256R1())
    return TestSigner(key, (ca.issue(key.public_key(), device_id),), device_id)


def open_log(state_dir: Path, signer: TestSigner | None = None, **kwargs: object) -> AuditLog:
    log = AuditLog(
        state_dir / "audit",
        case_key=CaseKey.load_or_create(state_dir),
        signer=signer,
        strict=True,
        **kwargs,  # type: ignore[arg-type]
    )
    log.open()
    return log


def enrolment(log: AuditLog, number: int, case: str) -> None:
    """The entries of one synthetic enrolment (no biometric data anywhere)."""
    workflow = f"wf{number:04d}"
    log.append(
        "enrolment.started",
        workflow_id=workflow,
        operator="op",
        language="pt-PT",
        case_reference=case,
    )
    log.append("consent.given", workflow_id=workflow, operator="op", language="pt-PT")
    log.append("capture.attempt", item="face", auto=True, accepted=True, failed=[], duration_ms=300)
    log.append(
        "capture.attempt",
        item="slap_right_four",
        auto=True,
        accepted=False,
        failed=["nfiq2"],
        duration_ms=900,
    )
    log.append(
        "enrolment.sealed",
        packet_id=f"packet-{number}",
        case_reference=case,
        operator="op",
        started_at="2026-11-23T10:00:00.000Z",
        duration_ms=200,
    )


def copy_log(state_dir: Path, target: Path) -> Path:
    shutil.copytree(state_dir / "audit", target)
    return target


def segment(directory: Path) -> Path:
    return sorted(directory.glob("segment-*.log"))[0]
