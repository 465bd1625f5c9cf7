"""Enumerating SBI devices on this host (:class:`drivers.interfaces.DeviceDiscovery`).

Discovery answers are unsigned: what is listed here is what the services
*claim*; a driver verifies a device's signed info before it uses it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from drivers.interfaces import DeviceInfo, DeviceKind
from drivers.sbi.client import discover
from drivers.sbi.config import SBI_FIRST_PORT, SBI_LAST_PORT

logger = logging.getLogger(__name__)

_KINDS = {"Finger": DeviceKind.FINGERPRINT, "Face": DeviceKind.CAMERA}


class SbiDiscovery:
    """Probes the SBI port range for finger and face devices."""

    def __init__(
        self,
        ports: range = range(SBI_FIRST_PORT, SBI_LAST_PORT + 1),
        *,
        concurrency: int = 16,
        timeout_s: float = 0.5,
    ) -> None:
        self._ports = ports
        self._concurrency = concurrency
        self._timeout_s = timeout_s

    async def discover(self) -> AsyncIterator[DeviceInfo]:
        devices = await discover(
            self._ports,
            "Biometric Device",
            version="auto",
            concurrency=self._concurrency,
            timeout_s=self._timeout_s,
        )
        for device in devices:
            kind = _KINDS.get(device.bio_type)
            if kind is None:
                continue  # iris devices, or services that send no digital id
            digital = device.digital_id
            yield DeviceInfo(
                device_id=f"sbi-{device.port}-{device.device_id}",
                kind=kind,
                driver="sbi",
                vendor=digital.make if digital else "",
                model=digital.model if digital else "",
                serial=device.serial,
            )
