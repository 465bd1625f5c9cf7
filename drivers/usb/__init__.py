"""pyusb reader framework: transport, error mapping, native drivers, emulation.

* :mod:`drivers.usb.errors` maps pyusb/libusb errors to :mod:`drivers.errors`
  exceptions and operator-visible :class:`~drivers.interfaces.DeviceState`\\ s.
* :mod:`drivers.usb.transport` owns one claimed device and runs every USB
  transfer on a dedicated worker thread, never on the event loop.
* :mod:`drivers.usb.uru4000` is a native driver for the DigitalPersona
  U.are.U 4000/4000B/4500 family; :mod:`drivers.usb.uru4000_protocol` holds its
  pure protocol code (frame header, image decryption, challenge/response).
* :mod:`drivers.usb.emulator` is a ``usb.backend.IBackend`` emulating that
  reader at transfer level, with fault injection; :mod:`drivers.usb.recording`
  records sessions (of a real device or the emulator) and replays them.

The pyusb backend is always injectable (``backend=``), so tests run exactly the
code that drives hardware.
"""
