"""The approved-device allow-list (``firmware_config/approved_devices.yaml``).

Only devices on it are used by the daemon (others show as ``refused``) and get
udev rules (:mod:`appliance.udev_rules`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from appliance.config.yaml_bounds import check_yaml_bounds, read_bounded_text
from drivers.interfaces import DeviceInfo

_CHECKOUT = Path(__file__).resolve().parents[1] / "firmware_config" / "approved_devices.yaml"
_PACKAGED = Path(__file__).resolve().parent / "_data" / "firmware_config" / "approved_devices.yaml"
#: The allow-list shipped with the code (checkout or installed wheel).
DEFAULT_ALLOWLIST = _CHECKOUT if _CHECKOUT.exists() else _PACKAGED


@dataclass(frozen=True)
class ApprovedUsbDevice:
    vid: int
    pid: int
    kind: str
    vendor: str
    model: str


def load_approved(path: Path = DEFAULT_ALLOWLIST) -> list[ApprovedUsbDevice]:
    yaml = YAML(typ="safe")
    text = read_bounded_text(path)
    check_yaml_bounds(yaml, text)
    data = yaml.load(text)
    return [
        ApprovedUsbDevice(
            int(d["vid"]), int(d["pid"]), str(d["kind"]), str(d.get("vendor", "")), str(d["model"])
        )
        for d in data.get("devices", [])
    ]


def allowlist_verdict(devices: list[ApprovedUsbDevice], info: DeviceInfo) -> str | None:
    """None when the device may be used, else why it is refused (shown to technicians)."""
    if info.simulated:
        return None
    if info.usb_vid is None or info.usb_pid is None:
        return f"{info.model}: reports no USB ids, cannot be checked against the allow-list"
    for device in devices:
        if (device.vid, device.pid) == (info.usb_vid, info.usb_pid):
            return None
    return f"{info.usb_vid:04x}:{info.usb_pid:04x} ({info.model}) is not on the approved list"
