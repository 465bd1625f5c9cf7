"""The strict config: valid examples pass, every bad key is named with its line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.config import ConfigError, load_config
from appliance.config.model import ApplianceConfig

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "config" / "demo.yaml"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_demo_config_is_valid() -> None:
    config = load_config(DEMO)
    assert config.site.claim_id == "CLAIM-DEMO-001"
    assert config.devices.face_camera.type == "sim"


def test_production_example_is_valid() -> None:
    config = load_config(ROOT / "config" / "production.example.yaml")
    assert config.profile == "production"


def test_misspelt_key_is_named_with_its_line(tmp_path: Path) -> None:
    text = DEMO.read_text().replace("    fps: 15\n", "    fsp: 15\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    line = text.splitlines().index("    fsp: 15") + 1
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    [problem] = info.value.problems
    assert problem.key == "devices.face_camera.fsp"
    assert problem.line == line
    assert "unknown key" in problem.message


def test_validate_cli_exit_codes_and_message(tmp_path: Path) -> None:
    ok = _cli("config", "validate", str(DEMO))
    assert ok.returncode == 0, ok.stderr
    text = DEMO.read_text().replace(
        "  municipality: Lisboa\n", "  municipality: Lisboa\n  munic: x\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = _cli("config", "validate", str(bad))
    assert result.returncode != 0
    line = text.splitlines().index("  munic: x") + 1
    assert "site.munic" in result.stderr
    assert f"line {line}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("a: [\n", "<yaml>"),
        ("- 1\n- 2\n", "must be a YAML mapping"),
        ("site: {claim_id: X1}\n", "required key is missing"),
    ],
)
def test_broken_files_get_clear_errors(tmp_path: Path, content: str, expected: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    result = _cli("config", "validate", str(bad))
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_is_a_clear_error() -> None:
    result = _cli("config", "validate", "/nonexistent/appliance.yaml")
    assert result.returncode == 1
    assert "file not found" in result.stderr


def test_wrong_driver_type_is_rejected(tmp_path: Path) -> None:
    text = DEMO.read_text().replace("    type: sim\n    width", "    type: nikon\n    width")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert any(p.key.startswith("devices.face_camera") for p in info.value.problems)


def test_production_refuses_simulated_devices(tmp_path: Path) -> None:
    bad = tmp_path / "prod.yaml"
    bad.write_text("profile: production\n" + DEMO.read_text().replace("profile: demo\n", ""))
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert "simulated devices" in str(info.value)


def test_schema_documents_every_field() -> None:
    result = _cli("config", "schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    undocumented = []
    for name, definition in {"ApplianceConfig": schema, **schema["$defs"]}.items():
        for field, spec in definition.get("properties", {}).items():
            if "description" not in spec:
                undocumented.append(f"{name}.{field}")
    assert undocumented == []


def test_every_section_forbids_unknown_keys() -> None:
    def walk(model: type) -> list[type]:
        found = [model]
        for field in model.model_fields.values():  # type: ignore[attr-defined]
            for arg in getattr(field.annotation, "__args__", (field.annotation,)):
                if isinstance(arg, type) and hasattr(arg, "model_fields"):
                    found.extend(walk(arg))
        return found

    for model in walk(ApplianceConfig):
        assert model.model_config.get("extra") == "forbid", model.__name__


def test_central_replicas_by_ip_and_dns_name(tmp_path: Path) -> None:
    from appliance.config.model import CentralConfig
    from appliance.uplink.client import channel_target

    one = CentralConfig(endpoint="enrolment.aima.example:443")
    assert one.addresses() == ["enrolment.aima.example:443"]
    assert channel_target(one.addresses()) == "enrolment.aima.example:443"
    many = CentralConfig(endpoint="10.0.0.1:50443", endpoints=["10.0.0.2:50443"])
    assert channel_target(many.addresses()) == "ipv4:10.0.0.1:50443,10.0.0.2:50443"
    with pytest.raises(ValueError, match="not an IP address"):
        CentralConfig(endpoint="a.example:443", endpoints=["10.0.0.2:443"])
    with pytest.raises(ValueError, match="mix IPv4 and IPv6"):
        channel_target(["10.0.0.1:1", "[::1]:2"])
