"""The kiosk image recipe hangs together (fast, static checks; no build, no VM).

`make image-test` builds and boots the image; these checks catch the mistakes that
would only show there: a partition label that RAUC, GRUB and the disk layout spell
differently, a unit that does not verify, a script that does not parse.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "image"
SCRIPTS = [
    ROOT / "scripts" / "build-image.sh",
    ROOT / "scripts" / "build-deb.sh",
    ROOT / "scripts" / "image-test-preflight.sh",
    ROOT / "scripts" / "arm64-root.sh",
    ROOT / "scripts" / "arm64-test.sh",
    IMAGE / "x86" / "customize.sh",
]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shell_scripts_parse(script: Path) -> None:
    subprocess.run(["bash", "-n", str(script)], check=True)


def _rauc_conf() -> configparser.ConfigParser:
    conf = configparser.ConfigParser()
    conf.read_string((IMAGE / "x86" / "system.conf").read_text())
    return conf


def test_partition_labels_agree_between_disk_rauc_and_grub() -> None:
    build = (ROOT / "scripts" / "build-image.sh").read_text()
    disk_labels = re.findall(r'name="([a-z-]+)"', build)
    assert disk_labels == ["esp", "root-a", "root-b", "data"]
    conf = _rauc_conf()
    slots = {
        conf[s]["bootname"]: conf[s]["device"] for s in conf.sections() if s.startswith("slot.")
    }
    assert slots == {
        "A": "/dev/disk/by-partlabel/root-a",
        "B": "/dev/disk/by-partlabel/root-b",
    }
    grub = (IMAGE / "x86" / "grub.cfg").read_text()
    # GRUB: A is partition 2 (root-a), B partition 3 (root-b), as sfdisk lays them out.
    assert "set part=gpt2; set label=root-a; else set part=gpt3; set label=root-b" in grub
    assert "rauc.slot=$slot" in grub  # how RAUC tells the booted slot
    mounts = {
        unit.name: unit.read_text()
        for unit in [*IMAGE.glob("common/*.mount"), *IMAGE.glob("x86/*.mount")]
    }
    assert "What=/dev/disk/by-partlabel/data" in mounts["data.mount"]
    assert "What=/dev/disk/by-partlabel/esp" in mounts["boot-efi.mount"]


def test_rauc_uses_grubenv_on_the_esp_and_only_signed_verity_bundles() -> None:
    conf = _rauc_conf()
    system = conf["system"]
    assert system["bootloader"] == "grub"
    assert system["grubenv"] == "/boot/efi/EFI/BOOT/grubenv"
    assert "Where=/boot/efi" in (IMAGE / "x86" / "boot-efi.mount").read_text()
    assert system["bundle-formats"] == "-plain"
    assert system["data-directory"].startswith("/data/")
    assert conf["keyring"]["path"] == "/etc/rauc/keyring.pem"
    assert "-p /EFI/BOOT" in (IMAGE / "x86" / "customize.sh").read_text()  # grub's $prefix


def test_grub_counts_tries_before_booting_and_reboots_a_broken_slot() -> None:
    grub = (IMAGE / "x86" / "grub.cfg").read_text()
    assert grub.index("save_env") < grub.index("menuentry")
    assert 'elif [ "$try" = "2" ]; then next=3' in grub  # three tries, then skipped
    body = grub[grub.index("menuentry") :]
    assert "reboot" in body and "boot; fi" in body


def test_slot_is_blessed_only_after_ready() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    text = (IMAGE / "common" / "appliance-bless.service").read_text()
    unit.read_string(re.sub(r"^(ExecStart)=", r"\1_%d=", text, flags=re.M) % (1, 2))
    assert unit["Unit"]["After"] == "appliance.service"
    assert unit["Unit"]["Requires"] == "appliance.service"
    assert "is-active" in unit["Service"]["ExecStart_1"]
    assert (
        unit["Service"]["ExecStart_2"] == "/usr/bin/rauc status mark-good"
    )  # no '-': failures count


def test_state_and_config_live_on_the_data_partition() -> None:
    tmpfiles = (IMAGE / "common" / "appliance-data.conf").read_text()
    for path in (
        "/data/appliance/outbox",
        "/data/appliance/identity",
        "/data/etc-appliance/credentials",
    ):
        assert re.search(rf"^d {re.escape(path)} 07", tmpfiles, re.M), path
    state = (IMAGE / "common" / "var-lib-appliance.mount").read_text()
    config = (IMAGE / "common" / "etc-appliance.mount").read_text()
    assert "What=/data/appliance" in state and "Where=/var/lib/appliance" in state
    assert "What=/data/etc-appliance" in config and "Where=/etc/appliance" in config
    assert "systemd.volatile=state" in (IMAGE / "x86" / "grub.cfg").read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_image_units_verify(tmp_path: Path) -> None:
    units = [
        *IMAGE.glob("common/*.service"),
        *IMAGE.glob("common/*.mount"),
        IMAGE / "x86" / "boot-efi.mount",
    ]
    for unit in units:
        text = re.sub(r"^(ExecStart)=\S+", r"\1=/bin/true", unit.read_text(), flags=re.M)
        (tmp_path / unit.name).write_text(text)
    appliance = (ROOT / "systemd" / "appliance.service").read_text()
    (tmp_path / "appliance.service").write_text(
        re.sub(r"^ExecStart=\S+", "ExecStart=/bin/true", appliance, flags=re.M)
    )
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / u.name) for u in units)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    problems = [
        line for line in result.stderr.splitlines() if "Unknown" in line or "Failed" in line
    ]
    assert result.returncode == 0 and not problems, result.stderr


def test_test_profile_config_validates() -> None:
    from appliance.config import load_config

    config = load_config(IMAGE / "test" / "appliance.yaml")
    assert config.profile.value == "demo"
    assert str(config.storage.state_dir) == "/var/lib/appliance"


def test_guest_facts_parse() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from imagetest.guest import parse_facts
    finally:
        sys.path.pop(0)
    facts = parse_facts("version=0.1.0+2\nslot=B\ngrubenv.ORDER=B A\nnoise\n")
    assert facts == {"version": "0.1.0+2", "slot": "B", "grubenv.ORDER": "B A"}


def _preflight(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "image-test-preflight.sh")],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_preflight_answers_in_one_line() -> None:
    result = _preflight()
    if result.returncode == 0:
        assert result.stdout == ""
    else:
        assert len(result.stdout.strip().splitlines()) == 1, result.stdout


def test_preflight_skips_when_the_disk_cannot_hold_the_image() -> None:
    result = _preflight(IMAGE_TEST_NEED_GB=str(1 << 30))
    assert result.returncode == 1
    assert result.stdout.strip().endswith(f"the image test needs {1 << 30} GB"), result.stdout
    assert len(result.stdout.strip().splitlines()) == 1


def test_rauc_service_files_are_installed_on_the_image() -> None:
    # Debian 12's rauc package ships only the binary: without the D-Bus service,
    # `rauc status mark-good` fails and no slot is ever blessed.
    customize = (IMAGE / "x86" / "customize.sh").read_text()
    for name in ("rauc.service", "de.pengutronix.rauc.service", "de.pengutronix.rauc.conf"):
        assert f'"$X/{name}"' in customize, name
    unit = (IMAGE / "x86" / "rauc.service").read_text()
    assert "BusName=de.pengutronix.rauc" in unit
    assert "--mount=/run/rauc" in unit  # the default /mnt/rauc is on the read-only root


@pytest.mark.parametrize(
    ("qemu", "problem"),
    [
        # This machine's nested KVM: QEMU aborts while setting up the vCPU.
        ("echo 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69' >&2; exit 134",
         "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69"),
        # A PVM-style KVM: QEMU keeps running, stuck on the firmware's first FPU instruction.
        ("echo 'KVM internal error. Suberror: 1' >&2; echo 'emulation failure' >&2; exec sleep 30",
         "KVM internal error. Suberror: 1"),
        ("exit 1", "QEMU exited at once (status 1)"),
        ("exec sleep 30", None),  # the firmware runs: KVM works
    ],
)  # fmt: skip
def test_kvm_probe_names_why_the_firmware_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qemu: str, problem: str | None
) -> None:
    fake = tmp_path / "qemu-system-x86_64"
    fake.write_text(f"#!/bin/sh\n{qemu}\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from imagetest.vm import kvm_firmware_problem
    finally:
        sys.path.pop(0)
    assert kvm_firmware_problem(seconds=1.0) == problem
