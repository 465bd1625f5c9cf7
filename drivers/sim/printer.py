"""The simulated receipt printer: the real ESC/POS bytes of each job, kept in memory.

Nothing is written to disk (a receipt carries the case reference). ``jobs``
holds the last few jobs' bytes for tests and the demo; ``fail: true`` makes
every job fail as a printer out of paper would.
"""

from __future__ import annotations

from collections import deque

from drivers.errors import DeviceError
from drivers.escpos_printer import encode_job
from drivers.interfaces import DeviceInfo, DeviceKind, DeviceState, PrintJob
from drivers.sim.config import SimPrinterConfig

KEEP_JOBS = 8


class SimReceiptPrinter:
    def __init__(self, config: SimPrinterConfig) -> None:
        self._config = config
        self._state = DeviceState.CLOSED
        self.jobs: deque[bytes] = deque(maxlen=KEEP_JOBS)

    @property
    def info(self) -> DeviceInfo:
        return DeviceInfo(
            device_id=self._config.device_id,
            kind=DeviceKind.PRINTER,
            driver="sim",
            vendor="Simulated",
            model="ESC/POS receipt printer",
            simulated=True,
        )

    @property
    def state(self) -> DeviceState:
        return self._state

    @property
    def paper_width_px(self) -> int:
        return self._config.paper_width_px

    async def open(self) -> None:
        self._state = DeviceState.READY

    async def close(self) -> None:
        self._state = DeviceState.CLOSED

    async def print_job(self, job: PrintJob) -> None:
        if self._config.fail:
            self._state = DeviceState.ERROR
            raise DeviceError("simulated printer: out of paper", device_id=self._config.device_id)
        self.jobs.append(encode_job(job, self._config.paper_width_px))
