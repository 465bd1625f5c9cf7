"""Where the rig finds its targets: one provider per device family.

A provider turns "simulated or real?" into targets. Adding a device family
(e.g. the MOSIP SBI adapter in :mod:`drivers.sbi`) means writing a provider
with ``name``, ``targets(simulated)`` and ``looking_for()`` and adding one
line to :data:`PROVIDERS` (or calling :func:`register` at run time).
"""

from __future__ import annotations

import importlib
from typing import Protocol

from appliance.hil.model import HilTarget


class TargetProvider(Protocol):
    name: str

    def targets(self, simulated: bool) -> list[HilTarget]:
        """The targets to test: simulated/emulated ones, or real devices found now."""

    def looking_for(self) -> str:
        """What real devices this provider looks for (for the "none found" message)."""


#: provider name -> "module:attribute" of a provider class.
PROVIDERS: dict[str, str] = {
    "sim": "appliance.hil.targets:SimProvider",
    "uru4000": "appliance.hil.targets:Uru4000Provider",
}


def register(name: str, target: str) -> None:
    """Add a provider ("module:Class") under ``name``."""
    PROVIDERS[name] = target


def load_providers(only: list[str] | None = None) -> list[TargetProvider]:
    names = only or list(PROVIDERS)
    unknown = [n for n in names if n not in PROVIDERS]
    if unknown:
        raise KeyError(f"unknown target provider(s): {', '.join(unknown)}")
    providers: list[TargetProvider] = []
    for name in names:
        module_name, attr = PROVIDERS[name].split(":")
        providers.append(getattr(importlib.import_module(module_name), attr)())
    return providers
