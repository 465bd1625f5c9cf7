"""The diagnostics bundle: every section present, secrets and personal data absent."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bundle_is_complete_and_redacted(tmp_path: Path) -> None:
    config = tmp_path / "appliance.yaml"
    config.write_text(
        (ROOT / "config" / "demo.yaml").read_text().replace("./var/demo", str(tmp_path / "state"))
    )
    out = tmp_path / "diag.tar.gz"
    result = subprocess.run(
        [sys.executable, "-m", "appliance", "diag", "--out", str(out), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        assert names == {
            "versions.json",
            "config.json",
            "devices.json",
            "outbox.json",
            "logs.txt",
            "self-test.json",
        }
        for member in tar.getmembers():
            assert member.mode == 0o600
        self_test = json.loads(tar.extractfile("self-test.json").read())  # type: ignore[union-attr]
        assert self_test["seal_open_round_trip"] == "ok"
        config_dump = json.loads(tar.extractfile("config.json").read())  # type: ignore[union-attr]
        assert config_dump["valid"] is True
        assert config_dump["config"]["site"]["claim_id"] == "CLAIM-DEMO-001"


def test_broken_config_is_reported_inside_the_bundle(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: {}\n")
    out = tmp_path / "diag.tar.gz"
    result = subprocess.run(
        [sys.executable, "-m", "appliance", "diag", "--out", str(out), "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0
    assert "config.json: error" in result.stdout
    with tarfile.open(out) as tar:
        assert "error" in json.loads(tar.extractfile("config.json").read())  # type: ignore[union-attr]
