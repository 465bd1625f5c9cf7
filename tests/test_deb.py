"""make deb: contents, maintainer scripts, and an offline install of the result.

The package is built once (scripts/build-deb.sh, as ``make deb`` does), unpacked
with dpkg-deb, and its real postinst runs against the unpacked tree (DPKG_ROOT)
to build the venv from the shipped wheels without any index; then the installed
``appliance`` answers --version and validates the production example config.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance import __version__
from appliance.face.models import MODELS

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb (Debian)"),
]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("deb")
    env = {**os.environ, "OUT": str(out), "PY": sys.executable}
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-deb.sh")],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    [package] = out.glob("claim-appliance_*.deb")
    yield package
    shutil.rmtree(out)  # 340 MB: the module's tests are done with it


def _field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "--field", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_control_and_contents(deb: Path) -> None:
    assert _field(deb, "Package") == "claim-appliance"
    assert _field(deb, "Version") == __version__
    depends = _field(deb, "Depends")
    assert "python3-venv" in depends
    assert "libpcsclite1" in depends  # pyscard dlopens it (chip reading)
    listing = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    for path in (
        "./lib/systemd/system/appliance.service",
        "./lib/systemd/system/appliance-receiver.service",
        "./lib/systemd/system/kiosk.service",
        "./usr/lib/sysusers.d/appliance.conf",
        "./usr/lib/tmpfiles.d/appliance.conf",
        "./lib/udev/rules.d/70-appliance-devices.rules",
        "./opt/appliance/constraints.txt",
    ):
        assert path in listing, path
    assert re.search(r"\./opt/appliance/wheels/claim_kiosk_appliance-.*\.whl", listing)
    for model in MODELS:
        assert f"./opt/appliance/models/{model.name}" in listing
    assert "/var/lib/appliance" not in listing  # state is created on the kiosk, never shipped


def test_maintainer_scripts_never_delete_spool_or_identity(deb: Path, tmp_path: Path) -> None:
    subprocess.run(["dpkg-deb", "--control", str(deb), str(tmp_path)], check=True)
    for script in ("postinst", "prerm", "postrm"):
        path = tmp_path / script
        assert os.access(path, os.X_OK), script
        subprocess.run(["sh", "-n", str(path)], check=True)
        for line in path.read_text().splitlines():
            code = line.split("#", 1)[0]
            if re.search(r"\brm\b", code):
                assert "/var/lib/appliance" not in code and "/etc/appliance" not in code, line
                assert "/opt/appliance/venv" in code or "$TARGET" in code or "$old" in code, line


def test_unpacked_package_installs_offline_and_runs(deb: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "--control", str(deb), str(control)], check=True)
    models = root / "opt" / "appliance" / "models"
    for model in MODELS:
        assert hashlib.sha256((models / model.name).read_bytes()).hexdigest() == model.sha256
    rules = (root / "lib/udev/rules.d/70-appliance-devices.rules").read_text()
    assert 'MODE="0660"' in rules and "0666" not in rules
    python_dir = str(Path(sys.executable).resolve().parent)
    env = {
        "PATH": f"{python_dir}:/usr/bin:/bin",
        "DPKG_ROOT": str(root),
        "PIP_NO_INDEX": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        ["sh", str(control / "postinst"), "configure"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    appliance = root / "opt" / "appliance" / "venv" / "bin" / "appliance"
    version = subprocess.run(
        [str(appliance), "--version"], capture_output=True, text=True, check=True
    )
    assert __version__ in version.stdout
    example = root / "usr/share/doc/claim-appliance/production.example.yaml"
    valid = subprocess.run(
        [str(appliance), "config", "validate", str(example)], capture_output=True, text=True
    )
    assert valid.returncode == 0, valid.stdout + valid.stderr
