"""Fault injection shared by the simulated devices."""

from __future__ import annotations

import random
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from drivers.errors import DeviceCorruptData, DeviceDisconnected, DeviceTimeout


class FaultConfig(BaseModel):
    """Faults a simulated device injects (all off by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unplug_after: int | None = Field(
        default=None, ge=0, description="Raise 'disconnected' after this many successful reads."
    )
    timeout_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Probability that a read times out."
    )
    corrupt_rate: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Probability that a read returns a corrupt frame."
    )
    seed: int = Field(default=0, description="Seed for the fault dice, so runs are repeatable.")


@dataclass
class FaultInjector:
    """Rolls the dice for one device; ``unplugged`` latches until ``replug``."""

    config: FaultConfig
    device_id: str

    def __post_init__(self) -> None:
        self._rng = random.Random(self.config.seed)
        self._reads = 0
        self.unplugged = False

    def replug(self) -> None:
        self.unplugged = False
        self._reads = 0

    def unplug(self) -> None:
        self.unplugged = True

    def before_read(self) -> None:
        """Raise the injected fault for this read, if any."""
        if self.unplugged:
            raise DeviceDisconnected("simulated device unplugged", device_id=self.device_id)
        if self.config.unplug_after is not None and self._reads >= self.config.unplug_after:
            self.unplugged = True
            raise DeviceDisconnected("simulated device unplugged", device_id=self.device_id)
        if self.config.timeout_rate and self._rng.random() < self.config.timeout_rate:
            raise DeviceTimeout("simulated read timeout", device_id=self.device_id)
        if self.config.corrupt_rate and self._rng.random() < self.config.corrupt_rate:
            raise DeviceCorruptData("simulated corrupt frame", device_id=self.device_id)
        self._reads += 1
