"""The built-in targets: the simulated reader, the emulated U.are.U, real U.are.U readers."""

from __future__ import annotations

import logging
import sys

from appliance.hil.model import Capability, HilTarget
from drivers.interfaces import FingerprintReader
from drivers.sim.config import SimReaderConfig
from drivers.sim.reader import SimFingerprintReader, SimPresentation
from drivers.usb import uru4000_protocol as proto
from drivers.usb.config import Uru4000Config
from drivers.usb.emulator import EmulatedUru4000, EmulatedUsbBackend, FaultKind, FaultPoint
from drivers.usb.emulator import Presentation as UsbPresentation
from drivers.usb.emulator.harness import FAST
from drivers.usb.transport import list_usb_devices, read_serial
from drivers.usb.uru4000 import Uru4000Reader

logger = logging.getLogger(__name__)

_IMAGE_FAULTS = {
    "stall": FaultKind.STALL,
    "timeout": FaultKind.TIMEOUT,
    "short": FaultKind.SHORT,
    "garbage": FaultKind.GARBAGE,
}


class SimReaderTarget(HilTarget):
    """The simulated ten-print reader of :mod:`drivers.sim`."""

    name = "sim-reader"
    capabilities = frozenset({Capability.NO_FINGER, Capability.UNPLUG})

    def __init__(self) -> None:
        self._config = SimReaderConfig(
            type="sim", device_id="hil-sim-reader", finger_delay_s=0.05, lift_delay_s=0.02
        )
        self._reader: SimFingerprintReader | None = None

    async def discover(self) -> str:
        return f"simulated reader {self._config.device_id} (subject {self._config.subject_seed})"

    def make_reader(self) -> FingerprintReader:
        self._reader = SimFingerprintReader(self._config)
        return self._reader

    def _sim(self) -> SimFingerprintReader:
        assert self._reader is not None, "no reader made yet"
        return self._reader

    def script_no_finger(self) -> None:
        self._sim().present(SimPresentation(no_finger=True))

    def arm_unplug_mid_capture(self) -> None:
        self._sim().faults.unplug()  # the next capture fails once the finger lands

    def unplug(self) -> None:
        self._sim().faults.unplug()

    def replug(self) -> None:
        self._sim().faults.replug()


class EmulatedUru4000Target(HilTarget):
    """The real U.are.U driver against the emulated 4500 on an emulated USB bus."""

    name = "uru4000-emulated"
    capabilities = frozenset(Capability)

    def __init__(self) -> None:
        self.device = EmulatedUru4000()
        self.backend = EmulatedUsbBackend(self.device)

    async def discover(self) -> str:
        found = [
            d
            for d in list_usb_devices(self.backend)
            if proto.is_supported(int(d.idVendor), int(d.idProduct))
        ]
        if not found:
            raise LookupError("the emulated reader did not enumerate")
        d = found[0]
        model = proto.MODELS[(int(d.idVendor), int(d.idProduct))].name
        return f"{int(d.idVendor):04x}:{int(d.idProduct):04x} {model} at {self.address()}"

    def make_reader(self) -> FingerprintReader:
        config = Uru4000Config.model_validate(
            {"type": "uru4000", "device_id": "hil-uru4000-emulated", **FAST}
        )
        return Uru4000Reader(config, backend=self.backend)

    def address(self) -> str:
        bus, address = self.backend.address_of(self.device)
        return f"bus {bus} addr {address}"

    def script_no_finger(self) -> None:
        self.device.present(UsbPresentation(no_finger=True))

    def arm_unplug_mid_capture(self) -> None:
        self.device.faults.arm(FaultPoint.IMAGE, FaultKind.UNPLUG)

    def unplug(self) -> None:
        self.backend.unplug(self.device)

    def replug(self) -> None:
        self.backend.replug(self.device)

    def inject(self, fault: str, *, times: int = 1, always: bool = False) -> None:
        kind = _IMAGE_FAULTS[fault]
        if always:
            self.device.faults.always(FaultPoint.IMAGE, kind)
        else:
            self.device.faults.arm(FaultPoint.IMAGE, kind, times=times)

    def faults_fired(self) -> list[str]:
        return [f"{point}:{kind}" for point, kind in self.device.faults.fired]

    def clear_faults(self) -> None:
        self.device.faults.clear()
        self.device.faults.fired.clear()

    def deny_access(self, denied: bool) -> None:
        self.device.faults.always(FaultPoint.OPEN, FaultKind.ACCESS if denied else None)


class RealUru4000Target(HilTarget):
    """A U.are.U reader found on the real USB bus (libusb)."""

    capabilities: frozenset[Capability] = frozenset()

    def __init__(self, vid: int, pid: int, bus: int | None, address: int | None, serial: str):
        self.vid, self.pid, self.serial = vid, pid, serial
        self._bus, self._address = bus, address
        self.name = f"uru4000@{bus}-{address}"

    async def discover(self) -> str:
        for d in list_usb_devices(None):
            if (int(d.idVendor), int(d.idProduct)) != (self.vid, self.pid):
                continue
            if self.serial and read_serial(d) != self.serial:
                continue
            self._bus, self._address = d.bus, d.address
            model = proto.MODELS[(self.vid, self.pid)].name
            return f"{self.vid:04x}:{self.pid:04x} {model} at {self.address()}"
        raise LookupError(f"{self.vid:04x}:{self.pid:04x} is no longer on the bus")

    def make_reader(self) -> FingerprintReader:
        config = Uru4000Config(
            type="uru4000",
            device_id=f"hil-{self.name}",
            vid=self.vid,
            pid=self.pid,
            serial=self.serial,
        )
        return Uru4000Reader(config)

    def address(self) -> str:
        return f"bus {self._bus} addr {self._address}"


class SimProvider:
    """Simulated devices exist only in a ``--simulated`` run."""

    name = "sim"

    def targets(self, simulated: bool) -> list[HilTarget]:
        return [SimReaderTarget()] if simulated else []

    def looking_for(self) -> str:
        return ""


class Uru4000Provider:
    """The emulated U.are.U (``--simulated``), or every supported reader on the bus."""

    name = "uru4000"

    def targets(self, simulated: bool) -> list[HilTarget]:
        if simulated:
            return [EmulatedUru4000Target()]
        found: list[HilTarget] = []
        for d in list_usb_devices(None):
            vid, pid = int(d.idVendor), int(d.idProduct)
            if proto.is_supported(vid, pid):
                found.append(RealUru4000Target(vid, pid, d.bus, d.address, read_serial(d)))
        return found

    def looking_for(self) -> str:
        return "U.are.U readers " + ", ".join(f"{v:04x}:{p:04x}" for v, p in proto.MODELS)


def prompt_operator(target: HilTarget, text: str) -> None:
    """Ask the technician to act on a real device (stderr, so --json stays clean)."""
    if not target.capabilities & {Capability.NO_FINGER}:
        print(f"[{target.name}] {text}", file=sys.stderr, flush=True)
