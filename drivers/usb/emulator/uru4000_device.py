"""The firmware of an emulated DigitalPersona U.are.U 4000/4000B/4500 reader.

It answers what :mod:`drivers.usb.uru4000_protocol` documents, at register
level: HWSTAT power states (low power, the "confused" 0x84 state that needs a
power reboot, the challenge/response gate of devices that authenticate the
host), MODE changes that arm the finger-on / finger-off interrupts, the
scramble-key exchange, and image frames (encrypted on the 4000B/4500) built
from synthetic prints. :class:`drivers.usb.emulator.backend.EmulatedUsbBackend`
plugs it into pyusb.

The applicant is scripted with :meth:`EmulatedUru4000.present`; without a
script a good print of one synthetic subject lands ``finger_delay_s`` after
the host arms finger detection.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from drivers.interfaces import FingerPosition, ImageU8
from drivers.sim.fingerprint_synth import FingerDefects
from drivers.usb import uru4000_protocol as proto
from drivers.usb.emulator import frames
from drivers.usb.emulator.descriptors import (
    EP_TYPE_BULK,
    EP_TYPE_INTR,
    ConfigurationDescriptor,
    DeviceDescriptor,
    EndpointDescriptor,
    InterfaceDescriptor,
)
from drivers.usb.emulator.faults import (
    LIBUSB_ERROR_NO_DEVICE,
    LIBUSB_ERROR_OVERFLOW,
    LIBUSB_ERROR_PIPE,
    LIBUSB_ERROR_TIMEOUT,
    FaultKind,
    FaultPlan,
    usb_error,
)

_IRQ_SIZE = 64
#: The 4500 reports a GUID-like serial number string.
DEFAULT_SERIAL = "{5E1F0A4C-3B2D-4E6F-8A9B-0C1D2E3F4A5B}"
_SCANPWR_DELAY_S = 0.005
_REGISTER_SPACE = 0x10000


@dataclass(frozen=True)
class Presentation:
    """What the emulated applicant does after the host arms finger detection."""

    no_finger: bool = False
    defects: FingerDefects = field(default_factory=FingerDefects)
    subject_seed: int | None = None
    position: FingerPosition = FingerPosition.RIGHT_INDEX


@dataclass(frozen=True, eq=False)
class SentFrame:
    """The last frame sent, with the image the host should decode from it."""

    host_view: ImageU8
    blocks: tuple[tuple[int, int], ...]
    key_number: int
    encrypted: bool
    length: int


class EmulatedUru4000:
    """Register-level model of one reader; thread-safe (the host calls from a worker thread)."""

    def __init__(
        self,
        *,
        pid: int = 0x000A,
        vid: int = proto.VENDOR_DIGITALPERSONA,
        serial: str = DEFAULT_SERIAL,
        subject_seed: int = 1,
        finger_delay_s: float = 0.05,
        lift_delay_s: float = 0.02,
        encrypt: bool | None = None,
        initial_hwstat: int = 0x80,
        seed: int = 0,
    ) -> None:
        self.model = proto.MODELS[(vid, pid)]
        self.serial = serial
        self.subject_seed = subject_seed
        self.finger_delay_s = finger_delay_s
        self.lift_delay_s = lift_delay_s
        # The 4000B/4500 (05ba:000a) scramble their frames; the older models do not.
        self.encrypt = (
            (vid, pid) == (proto.VENDOR_DIGITALPERSONA, 0x000A) if encrypt is None else encrypt
        )
        self.initial_hwstat = initial_hwstat
        self.faults = FaultPlan()
        self.descriptor = self._descriptor(vid, pid)
        self._seed = seed
        self._secret = hashlib.sha256(f"{serial}/{seed}".encode()).digest()
        self._cond = threading.Condition()
        self._script: deque[Presentation] = deque()
        self._impression = 0
        self._image_reads = 0
        self._nonce = 0
        self._key_cursor = 0
        self.last_frame: SentFrame | None = None
        self.power_cycle()

    # ------------------------------------------------------------ identity

    def _descriptor(self, vid: int, pid: int) -> DeviceDescriptor:
        vendor = "Microsoft" if vid == proto.VENDOR_MICROSOFT else "DigitalPersona, Inc."
        product = "U.are.U\u00ae 4500 Fingerprint Reader" if pid == 0x000A else self.model.name
        interface = InterfaceDescriptor(
            bInterfaceNumber=0,
            bInterfaceClass=255,
            bInterfaceSubClass=255,
            bInterfaceProtocol=255,
            endpoints=(
                EndpointDescriptor(proto.EP_INTR, EP_TYPE_INTR, _IRQ_SIZE, 1),
                EndpointDescriptor(proto.EP_DATA, EP_TYPE_BULK, 64, 0),
            ),
        )
        return DeviceDescriptor(
            idVendor=vid,
            idProduct=pid,
            bcdDevice=0x0104,
            configurations=(ConfigurationDescriptor(1, (interface,)),),
            strings={1: vendor, 2: product, 3: self.serial},
        )

    def device_info(self) -> bytes:
        """The 16 registers at 0xf0: firmware in bytes 4-5, hardware revision in 10-11."""
        info = bytearray(16)
        info[0:2] = b"\x01\x00"
        info[4:6] = b"\x01\x14"
        info[10:12] = b"\x00\x03"
        return bytes(info)

    # ------------------------------------------------------------ script and power

    def present(self, *presentations: Presentation) -> None:
        """Script what happens at the next finger detections, in order."""
        with self._cond:
            self._script.extend(presentations)

    def power_cycle(self) -> None:
        """Back to the power-on state (plug, replug, bus reset)."""
        with self._cond:
            self.registers = bytearray(_REGISTER_SPACE)
            self.registers[proto.REG_DEVICE_INFO : proto.REG_DEVICE_INFO + 16] = self.device_info()
            self.hwstat = self.initial_hwstat
            self.mode = proto.MODE_INIT
            self.authenticated = False
            self._confused = (self.initial_hwstat & 0x84) == 0x84
            self._irqs: list[tuple[float, int]] = []
            self._finger_on_at: float | None = None
            self._presentation = Presentation()
            self._challenge = b""
            self._scramble_index = 0
            self._scramble_seed = 0
            self.halted: set[int] = set()
            self._cond.notify_all()

    def wake(self) -> None:
        """Wake blocked reads (the device was unplugged)."""
        with self._cond:
            self._cond.notify_all()

    @property
    def low_power(self) -> bool:
        return bool(self.hwstat & 0x80)

    # ------------------------------------------------------------ registers

    def control_in(self, request: int, first: int, length: int) -> bytes:
        if request != proto.USB_RQ:
            raise usb_error(LIBUSB_ERROR_PIPE)
        with self._cond:
            end = min(first + length, _REGISTER_SPACE)
            if first == proto.REG_SCRAMBLE_DATA_KEY:
                value = self._key(self._scramble_index) ^ self._scramble_seed
                self.registers[first : first + 4] = value.to_bytes(4, "little")
            elif first == proto.REG_CHALLENGE:
                self._challenge = self._random_bytes(proto.CR_LENGTH)
                self.registers[first : first + proto.CR_LENGTH] = self._challenge
            self.registers[proto.REG_HWSTAT] = self.hwstat
            self.registers[proto.REG_MODE] = self.mode
            return bytes(self.registers[first:end])

    def control_out(self, request: int, first: int, data: bytes) -> int:
        if request != proto.USB_RQ:
            raise usb_error(LIBUSB_ERROR_PIPE)
        with self._cond:
            self.registers[first : first + len(data)] = data
            if first == proto.REG_HWSTAT and data:
                self._write_hwstat(data[0])
            elif first == proto.REG_MODE and data:
                self._write_mode(data[0])
            elif first == proto.REG_SCRAMBLE_DATA_INDEX and len(data) >= 5:
                self._scramble_index = data[0]
                self._scramble_seed = int.from_bytes(data[1:5], "little")
            elif first == proto.REG_RESPONSE and len(data) == proto.CR_LENGTH:
                expected = self._encrypt_challenge(self._challenge) if self._challenge else b""
                self.authenticated = bool(expected) and data == expected
            self._cond.notify_all()
            return len(data)

    def _write_hwstat(self, value: int) -> None:
        if self._confused:
            # Writing the low bits reboots the sensor power; bit 0 reads set when done.
            self._confused = False
            self.hwstat = (value & 0x0F) | 0x01
            return
        if value & 0x80:
            self.hwstat = value
            self.authenticated = False
            self._finger_on_at = None
            return
        if self.model.auth_cr and not self.authenticated:
            return  # the host has not answered the challenge: stay in low power
        was_low = self.low_power
        self.hwstat = value & 0x0F
        if was_low:
            self._irqs.append((time.monotonic() + _SCANPWR_DELAY_S, proto.IRQ_SCANPWR_ON))

    def _write_mode(self, mode: int) -> None:
        self.mode = mode
        now = time.monotonic()
        if self.low_power:
            return  # the sensor is off: nothing is detected
        if mode == proto.MODE_AWAIT_FINGER_ON:
            self._presentation = self._script.popleft() if self._script else Presentation()
            self._drop_irqs({proto.IRQ_FINGER_ON, proto.IRQ_FINGER_OFF})
            if self._presentation.no_finger:
                self._finger_on_at = None
            else:
                self._finger_on_at = now + self.finger_delay_s
                self._irqs.append((self._finger_on_at, proto.IRQ_FINGER_ON))
        elif mode == proto.MODE_AWAIT_FINGER_OFF:
            self._irqs.append((now + self.lift_delay_s, proto.IRQ_FINGER_OFF))
            self._finger_on_at = None
        elif mode == proto.MODE_OFF:
            self._drop_irqs({proto.IRQ_FINGER_ON, proto.IRQ_FINGER_OFF})
            self._finger_on_at = None

    def _drop_irqs(self, kinds: set[int]) -> None:
        self._irqs = [(due, kind) for due, kind in self._irqs if kind not in kinds]

    def _key(self, number: int) -> int:
        digest = hashlib.sha256(self._secret + bytes([number & 0xFF])).digest()
        return int.from_bytes(digest[:4], "little")

    def _random_bytes(self, count: int) -> bytes:
        self._nonce += 1
        return hashlib.sha256(self._secret + self._nonce.to_bytes(8, "little")).digest()[:count]

    @staticmethod
    def _encrypt_challenge(challenge: bytes) -> bytes:
        # The device side of the published single-block AES challenge (ECB by definition).
        encryptor = Cipher(algorithms.AES(proto.CHALLENGE_KEY), modes.ECB()).encryptor()  # noqa: S305
        return encryptor.update(challenge) + encryptor.finalize()

    # ------------------------------------------------------------ endpoints

    def _wait(
        self, ready: Callable[[], bool], deadline: float | None, alive: Callable[[], bool]
    ) -> bool:
        """Wait on the condition until ``ready()`` (True) or the deadline (False).

        Raises "no device" as soon as ``alive()`` turns false (an unplug).
        """
        while not ready():
            if not alive():
                raise usb_error(LIBUSB_ERROR_NO_DEVICE)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            self._cond.wait(timeout=0.05 if remaining is None else min(remaining, 0.05))
        return True

    def read_irq(
        self, size: int, timeout_ms: int, alive: Callable[[], bool], fault: FaultKind | None
    ) -> bytes:
        if proto.EP_INTR in self.halted:
            raise usb_error(LIBUSB_ERROR_PIPE)
        if size < _IRQ_SIZE:
            raise usb_error(LIBUSB_ERROR_OVERFLOW)
        if fault is FaultKind.DEATH:
            return proto.IRQ_DEATH.to_bytes(2, "big") + bytes(_IRQ_SIZE - 2)
        deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms else None
        with self._cond:

            def due() -> bool:
                return any(t <= time.monotonic() for t, _ in self._irqs)

            if not self._wait(due, deadline, alive):
                raise usb_error(LIBUSB_ERROR_TIMEOUT)
            entry = min(self._irqs)
            self._irqs.remove(entry)
            return entry[1].to_bytes(2, "big") + bytes(_IRQ_SIZE - 2)

    def read_image(
        self, size: int, timeout_ms: int, alive: Callable[[], bool], fault: FaultKind | None
    ) -> bytes:
        if proto.EP_DATA in self.halted:
            raise usb_error(LIBUSB_ERROR_PIPE)
        deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms else None
        gate = self.faults.image_gate
        if gate is not None:
            self.faults.image_waiting.set()
            while not gate.wait(0.02):
                if not alive():
                    raise usb_error(LIBUSB_ERROR_NO_DEVICE)
                if deadline is not None and time.monotonic() >= deadline:
                    raise usb_error(LIBUSB_ERROR_TIMEOUT)
        with self._cond:

            def finger_down() -> bool:
                on = self._finger_on_at
                return (
                    not self.low_power
                    and self.mode == proto.MODE_CAPTURE
                    and on is not None
                    and on <= time.monotonic()
                )

            if not self._wait(finger_down, deadline, alive):
                raise usb_error(LIBUSB_ERROR_TIMEOUT)
            self._image_reads += 1
            rng = np.random.default_rng([self._seed, self._image_reads, 5])
            if fault is FaultKind.GARBAGE:
                data = frames.garbage(rng)
            else:
                data = self._next_frame(rng)
                if fault is FaultKind.SHORT:
                    data = data[: frames.HEADER + int(rng.integers(1, 100)) * frames.WIDTH]
        if len(data) > size:
            raise usb_error(LIBUSB_ERROR_OVERFLOW)
        return data

    def _next_frame(self, rng: np.random.Generator) -> bytes:
        p = self._presentation
        subject = self.subject_seed if p.subject_seed is None else p.subject_seed
        host, raw = frames.sensor_view(
            subject, p.position, self._impression, p.defects, rotated_180=self.model.rotated_180
        )
        self._impression += 1
        shape = frames.layout(rng, encrypted=self.encrypt)
        number = self._key_cursor
        self._key_cursor = (self._key_cursor + 2) & 0xFF
        keys = {n & 0xFF: self._key(n) for n in (number, number + 1)}
        data = frames.encode(raw, shape, key_number=number, key_for=keys, rng=rng)
        self.last_frame = SentFrame(host, shape.blocks, number, self.encrypt, len(data))
        return data

    def clear_halt(self, endpoint: int) -> None:
        with self._cond:
            self.halted.discard(endpoint)

    def halt(self, endpoint: int) -> None:
        with self._cond:
            self.halted.add(endpoint)
