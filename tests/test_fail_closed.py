"""Production fails closed, and every CLI survives a reader that goes away."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.face.models import MODELS, models_dir

ROOT = Path(__file__).resolve().parents[1]

PRODUCTION = """
profile: production
site: {claim_id: CLAIM-TEST-9, municipality: Braga}
central: {endpoint: "127.0.0.1:1"}
devices:
  face_camera: {type: opencv, device: /dev/video99}
  fingerprint_reader: {type: uru4000}
storage: {state_dir: STATE}
security: {allow_software_keys: true}
"""


def _run(config: Path, models: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "APPLIANCE_MODELS_DIR": str(models)}
    return subprocess.run(
        [sys.executable, "-m", "appliance", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


@pytest.mark.parametrize("damage", ["missing", "corrupted"])
def test_production_refuses_to_start_without_a_good_model_file(tmp_path: Path, damage: str) -> None:
    models = tmp_path / "models"
    shutil.copytree(models_dir(), models)
    victim = models / MODELS[1].name
    if damage == "missing":
        victim.unlink()
    else:
        data = bytearray(victim.read_bytes())
        data[100] ^= 0xFF  # one flipped byte: the SHA-256 no longer matches the pin
        victim.write_bytes(bytes(data))
    config = tmp_path / "production.yaml"
    config.write_text(PRODUCTION.replace("STATE", str(tmp_path / "state")))
    result = _run(config, models)
    assert result.returncode == 1
    assert MODELS[1].name in result.stderr
    assert "appliance models fetch" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_cli_whose_reader_goes_away_stops_quietly(tmp_path: Path) -> None:
    state = tmp_path / "state"
    for number in range(40):
        subprocess.run(
            [sys.executable, "-m", "appliance", "account", "add", f"user{number:02d}",
             "--role", "operator", "--state-dir", str(state), "--secret-stdin"],
            input="long enough password\n", capture_output=True, text=True, check=True,
            cwd=ROOT, timeout=60,
        )  # fmt: skip
    pipeline = subprocess.run(
        ["bash", "-o", "pipefail", "-c",
         f"{sys.executable} -m appliance account list --state-dir {state} | head -c 1"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert "Traceback" not in pipeline.stderr and "BrokenPipe" not in pipeline.stderr
    assert "internal error" not in pipeline.stderr
    assert pipeline.returncode in (0, 141)  # 141: what a Unix tool killed by SIGPIPE reports
