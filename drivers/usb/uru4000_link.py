"""Register I/O, interrupts and power-up of one claimed U.are.U reader.

:class:`Uru4000Link` speaks the register protocol of
:mod:`drivers.usb.uru4000_protocol` over a :class:`drivers.usb.transport.UsbTransport`
(every transfer on the transport's worker thread). The power-up follows the
sequence libfprint documents: read HWSTAT, reboot the sensor power if bits 7
and 2 are both set, power down if bit 7 is clear, then write the low bits
until bit 7 reads clear (answering the challenge between attempts on devices
that authenticate the host), and wait for the 0x56aa scan-power interrupt,
retrying the whole sequence up to three times.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

from drivers.errors import CaptureCancelled, DeviceCorruptData, DeviceError, DeviceTimeout
from drivers.usb import uru4000_protocol as proto
from drivers.usb.config import Uru4000Config
from drivers.usb.transport import UsbTransport

logger = logging.getLogger(__name__)

POWER_ATTEMPTS = 100
POWER_PAUSE_S = 0.01
SCANPWR_TIMEOUT_S = 0.3


class Uru4000Link:
    """The protocol operations of one open reader."""

    def __init__(
        self,
        transport: UsbTransport,
        model: proto.ReaderModel,
        config: Uru4000Config,
        *,
        cancel: asyncio.Event,
        rng: random.Random,
    ) -> None:
        self.transport = transport
        self.model = model
        self._config = config
        self._cancel = cancel
        self._rng = rng

    @property
    def _device_id(self) -> str:
        return self._config.device_id

    # ------------------------------------------------------------ registers

    async def read_regs(self, first: int, count: int) -> bytes:
        data = await self.transport.ctrl_in(
            proto.USB_RQ, first, 0, count, self._config.transfer_timeout_ms
        )
        if len(data) < count:
            raise DeviceCorruptData(
                f"register 0x{first:04x}: {len(data)} of {count} bytes", device_id=self._device_id
            )
        return data

    async def write_regs(self, first: int, values: bytes) -> None:
        written = await self.transport.ctrl_out(
            proto.USB_RQ, first, 0, values, self._config.transfer_timeout_ms
        )
        if written != len(values):
            raise DeviceCorruptData(
                f"register 0x{first:04x}: wrote {written} of {len(values)} bytes",
                device_id=self._device_id,
            )

    async def read_reg(self, reg: int) -> int:
        return (await self.read_regs(reg, 1))[0]

    async def set_mode(self, mode: int) -> None:
        await self.write_regs(proto.REG_MODE, bytes([mode]))

    # ------------------------------------------------------------ power-up

    async def power_up(self) -> None:
        for _attempt in range(3):
            hwstat = await self.read_reg(proto.REG_HWSTAT)
            if hwstat & 0x84 == 0x84:
                hwstat = await self._reboot_power(hwstat)
            if hwstat & 0x80 == 0:
                hwstat |= 0x80
                await self.write_regs(proto.REG_HWSTAT, bytes([hwstat]))
            await self._power_on(hwstat & 0x0F)
            if await self.wait_irq({proto.IRQ_SCANPWR_ON}, SCANPWR_TIMEOUT_S) is not None:
                return
            logger.warning("scan-power interrupt did not arrive; retrying power-up")
        raise DeviceTimeout("power-up timed out 3 times", device_id=self._device_id)

    async def _reboot_power(self, hwstat: int) -> int:
        await self.write_regs(proto.REG_HWSTAT, bytes([hwstat & 0x0F]))
        for _ in range(POWER_ATTEMPTS):
            hwstat = await self.read_reg(proto.REG_HWSTAT)
            if hwstat & 0x01:
                return hwstat
            await asyncio.sleep(POWER_PAUSE_S)
        raise DeviceError("could not reboot the sensor power", device_id=self._device_id)

    async def _power_on(self, target: int) -> None:
        for _ in range(POWER_ATTEMPTS):
            await self.write_regs(proto.REG_HWSTAT, bytes([target]))
            if await self.read_reg(proto.REG_HWSTAT) & 0x80 == 0:
                return
            await asyncio.sleep(POWER_PAUSE_S)
            if self.model.auth_cr:
                await self._challenge_response()
        raise DeviceError("could not power the sensor up", device_id=self._device_id)

    async def _challenge_response(self) -> None:
        challenge = await self.read_regs(proto.REG_CHALLENGE, proto.CR_LENGTH)
        await self.write_regs(proto.REG_RESPONSE, proto.challenge_response(challenge))

    async def device_info(self) -> bytes:
        return await self.read_regs(proto.REG_DEVICE_INFO, 16)

    # ------------------------------------------------------------ interrupts

    async def wait_irq(self, wanted: set[int], timeout_s: float) -> int | None:
        """Poll the interrupt endpoint until one of ``wanted`` arrives, or ``None``."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self._cancel.is_set():
                raise CaptureCancelled("capture cancelled", device_id=self._device_id)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            poll_ms = max(1, min(self._config.irq_poll_ms, int(remaining * 1000)))
            try:
                message = await self.transport.read(proto.EP_INTR, proto.IRQ_LENGTH, poll_ms)
            except DeviceTimeout:
                continue
            kind = proto.irq_type(message)
            if kind == proto.IRQ_DEATH:
                logger.warning("reader sent the 0x0800 interrupt: the next scan may fail")
            if kind in wanted:
                return kind
            logger.debug("ignoring interrupt 0x%04x", kind)

    # ------------------------------------------------------------ image key

    async def scramble_key(self, key_number: int) -> int:
        """The LFSR state for ``key_number``: write (number, seed) to 0x33, read 0x34 ^ seed."""
        seed = self._rng.getrandbits(31)
        await self.write_regs(
            proto.REG_SCRAMBLE_DATA_INDEX, bytes([key_number & 0xFF]) + seed.to_bytes(4, "little")
        )
        raw = await self.read_regs(proto.REG_SCRAMBLE_DATA_KEY, 4)
        return int.from_bytes(raw, "little") ^ seed
