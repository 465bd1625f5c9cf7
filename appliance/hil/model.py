"""What the hardware-in-the-loop rig tests, and the contract a device target fulfils.

A *target* is one device the conformance suite runs against: the simulated
reader, the emulated U.are.U on its emulated USB bus, a real reader found on
the bus, or (later) a MOSIP SBI service. Each target declares the
:class:`Capability` values it supports; a check that needs a capability the
target lacks is not part of that target's run (real hardware cannot be
unplugged by software), so every listed test really runs: nothing is skipped.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from drivers.interfaces import FingerprintReader


class Capability(enum.StrEnum):
    NO_FINGER = "no_finger"  # the next capture can be scripted to get no finger
    UNPLUG = "unplug"  # the device can be unplugged and replugged by software
    USB_FAULTS = "usb_faults"  # stalls, timeouts, short and garbage frames can be injected
    ACCESS_FAULTS = "access_faults"  # the OS refusing access can be injected


class CheckFailed(Exception):
    """A conformance check failed; the message is the result's ``detail``."""


@dataclass(frozen=True)
class TestResult:
    """One line of the report."""

    __test__ = False  # not a pytest test class

    name: str
    device: str
    passed: bool
    ms: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "device": self.device,
            "passed": self.passed,
            "ms": round(self.ms, 1),
            "detail": self.detail,
        }


class HilTarget:
    """Base class of targets; fault hooks raise unless the capability is declared."""

    name: str = "target"
    capabilities: frozenset[Capability] = frozenset()

    async def discover(self) -> str:
        """Find the device without opening it; return what was found (raise if absent)."""
        raise NotImplementedError

    def make_reader(self) -> FingerprintReader:
        """A new, unopened reader for this device."""
        raise NotImplementedError

    def address(self) -> str:
        """Where the device sits now (bus address, URL), for the report."""
        return ""

    def script_no_finger(self) -> None:
        raise NotImplementedError(Capability.NO_FINGER)

    def unplug(self) -> None:
        raise NotImplementedError(Capability.UNPLUG)

    def replug(self) -> None:
        raise NotImplementedError(Capability.UNPLUG)

    def arm_unplug_mid_capture(self) -> None:
        raise NotImplementedError(Capability.UNPLUG)

    def inject(self, fault: str, *, times: int = 1, always: bool = False) -> None:
        raise NotImplementedError(Capability.USB_FAULTS)

    def faults_fired(self) -> list[str]:
        return []

    def clear_faults(self) -> None:
        """Undo every injected fault."""

    def deny_access(self, denied: bool) -> None:
        raise NotImplementedError(Capability.ACCESS_FAULTS)

    async def aclose(self) -> None:
        """Release what the target holds."""
