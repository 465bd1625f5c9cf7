"""Native pyusb driver for the DigitalPersona U.are.U 4000/4000B/4500 family.

Implements :class:`drivers.interfaces.FingerprintReader` on top of
:class:`drivers.usb.transport.UsbTransport` (transfers on a worker thread) and
the protocol functions of :mod:`drivers.usb.uru4000_protocol` (which documents
the wire protocol). One capture walks the shared capture state machine::

    idle -> awaiting_finger  (mode 0x10, wait for interrupt 0x0101)
         -> capturing        (mode 0x20, bulk frame, key exchange + decryption)
         -> awaiting_lift    (mode 0x12, wait for interrupt 0x0200)
         -> idle

USB failures become :mod:`drivers.errors` exceptions (see
:mod:`drivers.usb.errors`): an unplug turns the reader ``disconnected`` and the
next :meth:`Uru4000Reader.open` finds it again by VID:PID and serial, even
under a new bus address. A stalled image endpoint is cleared and the frame
re-read; short or garbled frames are re-read up to ``frame_retries`` times.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import numpy as np

from drivers.capture_state import CaptureStateMachine
from drivers.errors import (
    CaptureCancelled,
    DeviceCorruptData,
    DeviceDisconnected,
    DeviceError,
    DeviceStalled,
    DeviceTimeout,
)
from drivers.interfaces import (
    CaptureKind,
    CaptureRequest,
    CaptureState,
    DeviceInfo,
    DeviceKind,
    DeviceState,
    FingerprintImage,
    ImageU8,
    ReaderEventCallback,
)
from drivers.usb import uru4000_protocol as proto
from drivers.usb.config import Uru4000Config
from drivers.usb.errors import state_for_error
from drivers.usb.transport import UsbTransport, find_device, read_serial

logger = logging.getLogger(__name__)

_KINDS = frozenset({CaptureKind.FLAT_SINGLE})
_POWER_ATTEMPTS = 100
_POWER_PAUSE_S = 0.01
_SCANPWR_TIMEOUT_S = 0.3


class Uru4000Reader:
    """A U.are.U 4000/4000B/4500 reader (single flat finger, 512 ppi native)."""

    def __init__(
        self,
        config: Uru4000Config,
        *,
        backend: Any = None,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        self._backend = backend
        self._rng = rng or random.Random()
        self._transport: UsbTransport | None = None
        self._model: proto.ReaderModel | None = None
        self._state = DeviceState.CLOSED
        self._machine = CaptureStateMachine()
        self._cancel = asyncio.Event()
        self._info = DeviceInfo(
            device_id=config.device_id,
            kind=DeviceKind.FINGERPRINT,
            driver="uru4000",
            vendor="DigitalPersona",
            model="U.are.U 4000/4000B/4500",
            usb_vid=config.vid,
            usb_pid=config.pid,
        )

    # ------------------------------------------------------------ properties

    @property
    def info(self) -> DeviceInfo:
        return self._info

    @property
    def state(self) -> DeviceState:
        return self._state

    @property
    def capture_state(self) -> CaptureState:
        return self._machine.state

    @property
    def supported_kinds(self) -> frozenset[CaptureKind]:
        return _KINDS

    @property
    def bus_address(self) -> tuple[int | None, int | None]:
        """(bus, address) of the open device, for the device list and tests."""
        if self._transport is None:
            return None, None
        return self._transport.address.bus, self._transport.address.address

    # ------------------------------------------------------------ lifecycle

    def _matches(self, vid: int, pid: int) -> bool:
        if self._config.vid is not None and vid != self._config.vid:
            return False
        if self._config.pid is not None and pid != self._config.pid:
            return False
        return proto.is_supported(vid, pid)

    def _locate(self) -> tuple[Any, int, str] | None:
        device = find_device(self._backend, self._matches, serial=self._config.serial)
        if device is None:
            return None
        interface = 0
        for configuration in device:
            for intf in configuration:
                triple = (intf.bInterfaceClass, intf.bInterfaceSubClass, intf.bInterfaceProtocol)
                if triple == (255, 255, 255):
                    interface = int(intf.bInterfaceNumber)
                    break
        return device, interface, read_serial(device)

    async def open(self) -> None:
        """Find, claim and power up the reader."""
        if self._transport is not None and self._state is DeviceState.READY:
            return
        await self._drop_transport()
        try:
            located = await asyncio.to_thread(self._locate)
        except Exception as exc:  # enumeration failed (permissions, backend)
            from drivers.usb.errors import map_usb_error

            error = map_usb_error(exc, device_id=self._config.device_id, operation="enumerate")
            self._state = state_for_error(error)
            raise error from exc
        if located is None:
            self._state = DeviceState.DISCONNECTED
            raise DeviceDisconnected(
                "no U.are.U reader is attached", device_id=self._config.device_id
            )
        device, interface, serial = located
        vid, pid = int(device.idVendor), int(device.idProduct)
        self._model = proto.MODELS[(vid, pid)]
        transport = UsbTransport(device, device_id=self._config.device_id, interface=interface)
        self._transport = transport
        try:
            await transport.claim()
            await self._power_up()
            device_info = await self._read_regs(proto.REG_DEVICE_INFO, 16)
        except DeviceError as error:
            self._state = state_for_error(error)
            if self._state is DeviceState.READY:
                self._state = DeviceState.ERROR
            await self._drop_transport()
            raise
        firmware, hardware = proto.firmware_version(device_info)
        logger.info(
            "%s opened at %s (firmware %s, hardware %s)",
            self._model.name,
            transport.address.describe(),
            firmware,
            hardware,
        )
        self._info = DeviceInfo(
            device_id=self._config.device_id,
            kind=DeviceKind.FINGERPRINT,
            driver="uru4000",
            vendor="Microsoft" if vid == proto.VENDOR_MICROSOFT else "DigitalPersona",
            model=self._model.name,
            serial=serial,
            firmware=firmware,
            usb_vid=vid,
            usb_pid=pid,
        )
        self._state = DeviceState.READY

    async def close(self) -> None:
        """Switch the sensor off and release the device. Safe to call twice."""
        self._cancel.set()
        if self._transport is not None:
            try:
                await self._write_regs(proto.REG_MODE, bytes([proto.MODE_OFF]))
            except DeviceError as exc:
                logger.debug("mode off on close failed: %s", exc.detail)
        await self._drop_transport()
        self._state = DeviceState.CLOSED

    async def cancel(self) -> None:
        self._cancel.set()

    async def _drop_transport(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()

    # ------------------------------------------------------------ register I/O

    def _need_transport(self) -> UsbTransport:
        if self._transport is None:
            raise DeviceDisconnected("reader is not open", device_id=self._config.device_id)
        return self._transport

    async def _read_regs(self, first: int, count: int) -> bytes:
        data = await self._need_transport().ctrl_in(
            proto.USB_RQ, first, 0, count, self._config.transfer_timeout_ms
        )
        if len(data) < count:
            raise DeviceCorruptData(
                f"register 0x{first:04x}: {len(data)} of {count} bytes",
                device_id=self._config.device_id,
            )
        return data

    async def _write_regs(self, first: int, values: bytes) -> None:
        written = await self._need_transport().ctrl_out(
            proto.USB_RQ, first, 0, values, self._config.transfer_timeout_ms
        )
        if written != len(values):
            raise DeviceCorruptData(
                f"register 0x{first:04x}: wrote {written} of {len(values)} bytes",
                device_id=self._config.device_id,
            )

    async def _read_reg(self, reg: int) -> int:
        return (await self._read_regs(reg, 1))[0]

    # ------------------------------------------------------------ power-up

    async def _power_up(self) -> None:
        for _attempt in range(3):
            hwstat = await self._read_reg(proto.REG_HWSTAT)
            if hwstat & 0x84 == 0x84:
                hwstat = await self._reboot_power(hwstat)
            if hwstat & 0x80 == 0:
                hwstat |= 0x80
                await self._write_regs(proto.REG_HWSTAT, bytes([hwstat]))
            await self._power_on(hwstat & 0x0F)
            if await self._wait_irq({proto.IRQ_SCANPWR_ON}, _SCANPWR_TIMEOUT_S) is not None:
                return
            logger.warning("scan-power interrupt did not arrive; retrying power-up")
        raise DeviceTimeout("power-up timed out 3 times", device_id=self._config.device_id)

    async def _reboot_power(self, hwstat: int) -> int:
        await self._write_regs(proto.REG_HWSTAT, bytes([hwstat & 0x0F]))
        for _ in range(_POWER_ATTEMPTS):
            hwstat = await self._read_reg(proto.REG_HWSTAT)
            if hwstat & 0x01:
                return hwstat
            await asyncio.sleep(_POWER_PAUSE_S)
        raise DeviceError("could not reboot the sensor power", device_id=self._config.device_id)

    async def _power_on(self, target: int) -> None:
        assert self._model is not None
        for _ in range(_POWER_ATTEMPTS):
            await self._write_regs(proto.REG_HWSTAT, bytes([target]))
            if await self._read_reg(proto.REG_HWSTAT) & 0x80 == 0:
                return
            await asyncio.sleep(_POWER_PAUSE_S)
            if self._model.auth_cr:
                await self._challenge_response()
        raise DeviceError("could not power the sensor up", device_id=self._config.device_id)

    async def _challenge_response(self) -> None:
        challenge = await self._read_regs(proto.REG_CHALLENGE, proto.CR_LENGTH)
        await self._write_regs(proto.REG_RESPONSE, proto.challenge_response(challenge))

    # ------------------------------------------------------------ interrupts

    async def _wait_irq(self, wanted: set[int], timeout_s: float) -> int | None:
        """Poll the interrupt endpoint until one of ``wanted`` arrives, or ``None``."""
        transport = self._need_transport()
        deadline = time.monotonic() + timeout_s
        while True:
            if self._cancel.is_set():
                raise CaptureCancelled("capture cancelled", device_id=self._config.device_id)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            poll_ms = max(1, min(self._config.irq_poll_ms, int(remaining * 1000)))
            try:
                message = await transport.read(proto.EP_INTR, proto.IRQ_LENGTH, poll_ms)
            except DeviceTimeout:
                continue
            kind = proto.irq_type(message)
            if kind == proto.IRQ_DEATH:
                logger.warning("reader sent the 0x0800 interrupt: the next scan may fail")
            if kind in wanted:
                return kind
            logger.debug("ignoring interrupt 0x%04x", kind)

    # ------------------------------------------------------------ capture

    async def capture(
        self, request: CaptureRequest, on_event: ReaderEventCallback | None = None
    ) -> FingerprintImage:
        device_id = self._config.device_id
        if self._state is not DeviceState.READY:
            raise DeviceError(f"reader is {self._state}", device_id=device_id)
        if request.kind not in _KINDS:
            raise DeviceError(
                f"{request.kind} is not supported by this reader", device_id=device_id
            )
        self._cancel.clear()
        self._machine.listen(on_event)
        self._state = DeviceState.BUSY
        try:
            self._machine.to(CaptureState.AWAITING_FINGER)
            await self._write_regs(proto.REG_MODE, bytes([proto.MODE_AWAIT_FINGER_ON]))
            if await self._wait_irq({proto.IRQ_FINGER_ON}, request.timeout_s) is None:
                raise DeviceTimeout("no finger was placed in time", device_id=device_id)
            self._machine.to(CaptureState.CAPTURING)
            pixels = await self._capture_image()
            self._machine.to(CaptureState.AWAITING_LIFT)
            await self._write_regs(proto.REG_MODE, bytes([proto.MODE_AWAIT_FINGER_OFF]))
            if await self._wait_irq({proto.IRQ_FINGER_OFF}, self._config.lift_timeout_s) is None:
                logger.info("finger not lifted within %.1f s", self._config.lift_timeout_s)
            self._machine.to(CaptureState.IDLE)
        except DeviceDisconnected:
            self._machine.reset("device.disconnected")
            self._state = DeviceState.DISCONNECTED
            await self._drop_transport()
            raise
        except CaptureCancelled as exc:
            self._machine.reset(exc.message_key)
            self._state = DeviceState.READY
            raise
        except DeviceError as exc:
            self._machine.reset(exc.message_key)
            self._state = state_for_error(exc)
            raise
        except BaseException:
            self._machine.reset()
            self._state = DeviceState.READY
            raise
        finally:
            self._machine.listen(None)
        self._state = DeviceState.READY
        return FingerprintImage(
            pixels=pixels,
            ppi=self._config.output_ppi,
            kind=request.kind,
            position=request.position,
            timestamp=time.time(),
            device_id=device_id,
        )

    async def _capture_image(self) -> ImageU8:
        transport = self._need_transport()
        last: DeviceError | None = None
        for attempt in range(self._config.frame_retries + 1):
            if self._cancel.is_set():
                raise CaptureCancelled("capture cancelled", device_id=self._config.device_id)
            await self._write_regs(proto.REG_MODE, bytes([proto.MODE_CAPTURE]))
            try:
                frame = await transport.read(
                    proto.EP_DATA, proto.FRAME_LENGTH, self._config.transfer_timeout_ms
                )
            except DeviceStalled as exc:
                logger.warning("image endpoint stalled (attempt %d); clearing halt", attempt + 1)
                last = exc
                await transport.clear_halt(proto.EP_DATA)
                continue
            except DeviceTimeout as exc:
                logger.warning("image transfer timed out (attempt %d)", attempt + 1)
                last = exc
                continue
            try:
                header = proto.FrameHeader.parse(frame)
            except ValueError as exc:
                last = DeviceCorruptData(str(exc), device_id=self._config.device_id)
                continue
            problem = header.validate(len(frame))
            if problem is not None:
                logger.warning("bad frame (attempt %d): %s", attempt + 1, problem)
                last = DeviceCorruptData(problem, device_id=self._config.device_id)
                continue
            image = await self._decode(header, frame)
            return await asyncio.to_thread(self._resample, image)
        assert last is not None
        raise last

    async def _scramble_key(self, key_number: int) -> int:
        seed = self._rng.getrandbits(31)
        await self._write_regs(
            proto.REG_SCRAMBLE_DATA_INDEX, bytes([key_number & 0xFF]) + seed.to_bytes(4, "little")
        )
        raw = await self._read_regs(proto.REG_SCRAMBLE_DATA_KEY, 4)
        return int.from_bytes(raw, "little") ^ seed

    async def _decode(self, header: proto.FrameHeader, frame: bytes) -> ImageU8:
        """Decrypt the frame if the sensor scrambled it, then lay out the image."""
        assert self._model is not None
        width = proto.IMAGE_WIDTH
        data = bytearray(proto.IMAGE_HEIGHT * width)
        body = frame[proto.HEADER_LENGTH : proto.HEADER_LENGTH + len(data)]
        data[: len(body)] = body
        if proto.looks_encrypted(bytes(data), header.num_lines):
            key_number = header.key_number
            key = await self._scramble_key(key_number)
            row = 0
            for flags, count in header.blocks:
                if row >= header.num_lines:
                    break
                if flags & proto.BLOCK_CHANGE_KEY:
                    key_number = (key_number + 1) & 0xFF
                    key = await self._scramble_key(key_number)
                start = row * width
                end = min(start + count * width, len(data))
                mode = flags & (proto.BLOCK_NO_KEY_UPDATE | proto.BLOCK_ENCRYPTED)
                if mode == proto.BLOCK_ENCRYPTED:
                    plain, key = await asyncio.to_thread(
                        proto.decrypt_block, bytes(data[start:end]), key
                    )
                    data[start:end] = plain
                elif mode == 0:
                    key = await asyncio.to_thread(proto.advance, key, count * width)
                if not flags & proto.BLOCK_NOT_PRESENT:
                    row += count
        return proto.assemble_image(header, bytes(data), rotated_180=self._model.rotated_180)

    def _resample(self, image: ImageU8) -> ImageU8:
        if self._config.output_ppi == proto.NATIVE_PPI:
            return image
        import cv2

        scale = self._config.output_ppi / proto.NATIVE_PPI
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        resized = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(resized, dtype=np.uint8)
