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
from typing import TYPE_CHECKING, Any

from drivers.capture_state import CoreReader, ReaderCore
from drivers.errors import (
    CaptureCancelled,
    DeviceAccessDenied,
    DeviceBusy,
    DeviceCorruptData,
    DeviceDisconnected,
    DeviceError,
    DeviceStalled,
    DeviceTimeout,
    state_for_error,
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
from drivers.usb.errors import map_usb_error
from drivers.usb.transport import UsbTransport, find_device, read_serial
from drivers.usb.uru4000_image import decode_frame, resample
from drivers.usb.uru4000_link import Uru4000Link

if TYPE_CHECKING:
    from drivers.usb.emulator import EmulatedUru4000

logger = logging.getLogger(__name__)

_KINDS = frozenset({CaptureKind.FLAT_SINGLE})


class Uru4000Reader(CoreReader):
    """A U.are.U 4000/4000B/4500 reader (single flat finger, 512 ppi native)."""

    def __init__(
        self,
        config: Uru4000Config,
        *,
        backend: Any = None,
        rng: random.Random | None = None,
    ) -> None:
        self._config = config
        #: The built-in emulated device when the config says ``emulated: true``.
        self.emulator: EmulatedUru4000 | None = None
        if backend is None and config.emulated:
            backend = self._emulated_backend(config)
        self._backend = backend
        self._rng = rng or random.Random()
        self._link: Uru4000Link | None = None
        self._core = ReaderCore(config.device_id)
        self._cancel = asyncio.Event()
        self._info = DeviceInfo(
            device_id=config.device_id,
            kind=DeviceKind.FINGERPRINT,
            driver="uru4000",
            vendor="DigitalPersona",
            model="U.are.U 4000/4000B/4500",
            usb_vid=config.vid,
            usb_pid=config.pid,
            simulated=config.emulated,
        )

    def _emulated_backend(self, config: Uru4000Config) -> Any:
        """The built-in emulator (config ``emulated: true``): first model matching vid/pid."""
        from drivers.usb.emulator import EmulatedUru4000, EmulatedUsbBackend

        preferred = (proto.VENDOR_DIGITALPERSONA, 0x000A)  # the 4000B/4500
        vid, pid = next(
            (key for key in (preferred, *proto.MODELS) if self._matches(*key)), preferred
        )
        from drivers.usb.emulator.uru4000_device import DEFAULT_SERIAL

        self.emulator = EmulatedUru4000(vid=vid, pid=pid, serial=config.serial or DEFAULT_SERIAL)
        return EmulatedUsbBackend(self.emulator)

    # ------------------------------------------------------------ properties

    @property
    def supported_kinds(self) -> frozenset[CaptureKind]:
        return _KINDS

    @property
    def backend(self) -> Any:
        """The pyusb backend in use (``None``: libusb picked by pyusb)."""
        return self._backend

    @property
    def bus_address(self) -> tuple[int | None, int | None]:
        """(bus, address) of the open device, for the device list and tests."""
        if self._link is None:
            return None, None
        address = self._link.transport.address
        return address.bus, address.address

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
        if self._link is not None and self._core.state is DeviceState.READY:
            return
        await self._drop_transport()
        try:
            located = await asyncio.to_thread(self._locate)
        except Exception as exc:  # enumeration failed (permissions, backend)
            error = map_usb_error(exc, device_id=self._config.device_id, operation="enumerate")
            self._core.state = state_for_error(error)
            raise self._explain(error, f"serial {self._config.serial!r}") from exc
        if located is None:
            self._core.state = DeviceState.DISCONNECTED
            raise DeviceDisconnected(
                "no U.are.U reader is attached", device_id=self._config.device_id
            )
        device, interface, serial = located
        vid, pid = int(device.idVendor), int(device.idProduct)
        model = proto.MODELS[(vid, pid)]
        transport = UsbTransport(device, device_id=self._config.device_id, interface=interface)
        link = Uru4000Link(transport, model, self._config, cancel=self._cancel, rng=self._rng)
        self._link = link
        try:
            await transport.claim()
            await link.power_up()
            device_info = await link.device_info()
        except DeviceError as error:
            self._core.state = state_for_error(error)
            if self._core.state is DeviceState.READY:
                self._core.state = DeviceState.ERROR
            await self._drop_transport()
            explained = self._explain(error, transport.address.describe())
            if explained is not error:
                raise explained from error
            raise
        firmware, hardware = proto.firmware_version(device_info)
        logger.info(
            "%s opened at %s (firmware %s, hardware %s)",
            model.name,
            transport.address.describe(),
            firmware,
            hardware,
        )
        self._info = DeviceInfo(
            device_id=self._config.device_id,
            kind=DeviceKind.FINGERPRINT,
            driver="uru4000",
            vendor="Microsoft" if vid == proto.VENDOR_MICROSOFT else "DigitalPersona",
            model=model.name,
            serial=serial,
            firmware=firmware,
            usb_vid=vid,
            usb_pid=pid,
            simulated=self._config.emulated,
        )
        self._core.state = DeviceState.READY

    def _explain(self, error: DeviceError, where: str) -> DeviceError:
        """An operator-readable error for the failures a technician can fix."""
        if isinstance(error, DeviceBusy):
            return DeviceBusy(
                f"the reader ({where}) is in use by another process or driver "
                "(stop fprintd or the vendor service)",
                device_id=error.device_id,
            )
        if isinstance(error, DeviceAccessDenied):
            return DeviceAccessDenied(
                f"no permission to open the reader ({where}): install the udev rule "
                "(appliance udev-rules) and run the service in its group",
                device_id=error.device_id,
            )
        return error

    async def close(self) -> None:
        """Switch the sensor off and release the device. Safe to call twice."""
        self._cancel.set()
        if self._link is not None:
            try:
                await self._link.set_mode(proto.MODE_OFF)
            except DeviceError as exc:
                logger.debug("mode off on close failed: %s", exc.detail)
        await self._drop_transport()
        self._core.state = DeviceState.CLOSED

    async def cancel(self) -> None:
        self._cancel.set()

    async def _drop_transport(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            await link.transport.close()

    def _need_link(self) -> Uru4000Link:
        if self._link is None:
            raise DeviceDisconnected("reader is not open", device_id=self._config.device_id)
        return self._link

    # ------------------------------------------------------------ capture

    async def capture(
        self, request: CaptureRequest, on_event: ReaderEventCallback | None = None
    ) -> FingerprintImage:
        device_id = self._config.device_id
        self._cancel.clear()
        async with self._core.capturing(
            request, _KINDS, on_event, on_disconnect=self._drop_transport
        ) as machine:
            link = self._need_link()
            await link.set_mode(proto.MODE_AWAIT_FINGER_ON)
            if await link.wait_irq({proto.IRQ_FINGER_ON}, request.timeout_s) is None:
                raise DeviceTimeout("no finger was placed in time", device_id=device_id)
            machine.to(CaptureState.CAPTURING)
            pixels = await self._capture_image()
            machine.to(CaptureState.AWAITING_LIFT)
            await link.set_mode(proto.MODE_AWAIT_FINGER_OFF)
            if await link.wait_irq({proto.IRQ_FINGER_OFF}, self._config.lift_timeout_s) is None:
                logger.info("finger not lifted within %.1f s", self._config.lift_timeout_s)
        return FingerprintImage(
            pixels=pixels,
            ppi=self._config.output_ppi,
            kind=request.kind,
            position=request.position,
            timestamp=time.time(),
            device_id=device_id,
        )

    async def _capture_image(self) -> ImageU8:
        """Read a frame, re-reading a stalled, timed-out, short or garbled one."""
        link = self._need_link()
        last: DeviceError | None = None
        for attempt in range(self._config.frame_retries + 1):
            if self._cancel.is_set():
                raise CaptureCancelled("capture cancelled", device_id=self._config.device_id)
            await link.set_mode(proto.MODE_CAPTURE)
            try:
                frame = await link.transport.read(
                    proto.EP_DATA, proto.FRAME_LENGTH, self._config.transfer_timeout_ms
                )
            except DeviceStalled as exc:
                logger.warning("image endpoint stalled (attempt %d); clearing halt", attempt + 1)
                last = exc
                await link.transport.clear_halt(proto.EP_DATA)
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
            image = await decode_frame(
                header, frame, rotated_180=link.model.rotated_180, scramble_key=link.scramble_key
            )
            return await asyncio.to_thread(resample, image, self._config.output_ppi)
        assert last is not None
        raise last
