"""The committed generated code matches the .proto files (regenerate: scripts/gen_proto.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_proto", ROOT / "scripts" / "gen_proto.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_proto"] = module
    spec.loader.exec_module(module)
    return module


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    generated = _generator().generate(tmp_path)
    assert generated, "no proto files found"
    stale = []
    for path in generated:
        relative = path.relative_to(tmp_path)
        committed = ROOT / relative
        if not committed.exists() or committed.read_bytes() != path.read_bytes():
            stale.append(str(relative))
    assert stale == [], f"stale generated code, run: python scripts/gen_proto.py ({stale})"


def test_contract_has_the_v1_services() -> None:
    from aima.enrolment.v1 import (
        audit_pb2,
        cases_pb2,
        device_enrolment_pb2,
        device_status_pb2,
        packet_upload_pb2,
    )

    services = {
        name
        for module in (
            device_enrolment_pb2,
            device_status_pb2,
            packet_upload_pb2,
            audit_pb2,
            cases_pb2,
        )
        for name in module.DESCRIPTOR.services_by_name
    }
    assert services == {
        "DeviceEnrolmentService",
        "PacketUploadService",
        "DeviceStatusService",
        "AuditService",
        "CaseService",
    }
    assert packet_upload_pb2.DESCRIPTOR.package == "aima.enrolment.v1"


def test_every_field_and_message_is_documented() -> None:
    undocumented = []
    for proto in sorted((ROOT / "proto").rglob("*.proto")):
        lines = proto.read_text().splitlines()
        for index, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith(("message ", "service ", "enum ", "rpc ")):
                previous = lines[index - 1].strip() if index else ""
                if not previous.startswith("//"):
                    undocumented.append(f"{proto.name}:{index + 1}: {stripped}")
    # Fields may be grouped under one comment (e.g. vendor/model); messages, enums,
    # services and RPCs each need their own.
    assert undocumented == []
