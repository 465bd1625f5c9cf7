"""The committed udev rules match the allow-list and never grant world access."""

from __future__ import annotations

import re
from pathlib import Path

from appliance.allowlist import DEFAULT_ALLOWLIST, load_approved
from appliance.udev_rules import render_rules

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "systemd" / "udev" / "70-appliance-devices.rules"


def test_committed_rules_match_the_allow_list() -> None:
    assert RULES.read_text() == render_rules(load_approved(DEFAULT_ALLOWLIST)), (
        "regenerate: appliance udev-rules > systemd/udev/70-appliance-devices.rules"
    )


def test_every_approved_device_has_a_group_rule_and_nothing_is_world_accessible() -> None:
    text = RULES.read_text()
    for device in load_approved(DEFAULT_ALLOWLIST):
        assert (
            f'ATTR{{idVendor}}=="{device.vid:04x}", ATTR{{idProduct}}=="{device.pid:04x}"' in text
        )
    modes = re.findall(r'MODE="(\d+)"', text)
    assert modes and all(int(mode, 8) & 0o007 == 0 for mode in modes)
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert all('GROUP="appliance"' in line for line in rules)
