"""An emulated DigitalPersona U.are.U 4000B/4500 reader, served to pyusb as a backend.

Ships in the package so demos, tests and the hardware-in-the-loop rig
(``appliance hil --simulated``) run the real :class:`drivers.usb.uru4000.Uru4000Reader`
code against it::

    device = EmulatedUru4000()
    backend = EmulatedUsbBackend(device)
    reader = Uru4000Reader(Uru4000Config(type="uru4000"), backend=backend)

* :mod:`.uru4000_device` models the reader's firmware (registers, power
  states, interrupts, encrypted frames from synthetic prints);
* :mod:`.backend` is the ``usb.backend.IBackend`` (enumeration, descriptors,
  transfers, unplug/replug under a new address);
* :mod:`.faults` arms stalls, timeouts, short and garbage frames, unplugs,
  access and busy errors;
* :mod:`.frames` builds the sensor's frames (its own LFSR scrambler).
"""

from drivers.usb.emulator.backend import EmulatedUsbBackend
from drivers.usb.emulator.faults import FaultKind, FaultPlan, FaultPoint
from drivers.usb.emulator.uru4000_device import EmulatedUru4000, Presentation

__all__ = [
    "EmulatedUru4000",
    "EmulatedUsbBackend",
    "FaultKind",
    "FaultPlan",
    "FaultPoint",
    "Presentation",
]
