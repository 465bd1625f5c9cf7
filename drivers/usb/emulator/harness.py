"""One emulated reader wired to the real driver: what tests, demos and the rig use."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from drivers.usb.config import Uru4000Config
from drivers.usb.emulator.backend import EmulatedUsbBackend
from drivers.usb.emulator.uru4000_device import EmulatedUru4000
from drivers.usb.uru4000 import Uru4000Reader

#: Short timeouts so fault scenarios finish quickly (the emulator answers at once).
FAST: dict[str, Any] = {"transfer_timeout_ms": 300, "irq_poll_ms": 20, "lift_timeout_s": 1.0}


@dataclass
class EmulatedRig:
    device: EmulatedUru4000
    backend: EmulatedUsbBackend
    reader: Uru4000Reader

    def unplug(self) -> None:
        self.backend.unplug(self.device)

    def replug(self) -> None:
        self.backend.replug(self.device)


def emulated_rig(
    device: EmulatedUru4000 | None = None,
    *,
    backend: Any = None,
    rng: random.Random | None = None,
    **config: Any,
) -> EmulatedRig:
    """An emulated reader on its own bus and a :class:`Uru4000Reader` bound to it.

    ``backend`` wraps the emulated bus (e.g. a recorder); ``config`` overrides
    :data:`FAST` and the :class:`Uru4000Config` defaults.
    """
    device = device or EmulatedUru4000()
    bus = EmulatedUsbBackend(device)
    settings = {"type": "uru4000", **FAST, **config}
    reader = Uru4000Reader(
        Uru4000Config.model_validate(settings),
        backend=bus if backend is None else backend(bus),
        rng=rng,
    )
    return EmulatedRig(device, bus, reader)
