"""ESC/POS receipt printers through python-escpos, and the job encoding both drivers share.

A job is encoded once into ESC/POS bytes with python-escpos's ``Dummy`` printer
(initialise, the page as a raster bit image, the QR code with the printer's
own QR command, feed and cut), then written in one go over the configured
connection (USB bulk endpoint, TCP port 9100 or a character device). The
simulated printer keeps the same bytes in memory, so tests see exactly what a
real printer would receive.

The page is rendered by the appliance as an image because a thermal printer's
character sets cannot show Devanagari, Bengali, Arabic or Urdu.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np
from escpos.exceptions import DeviceNotFoundError, USBNotFoundError
from escpos.printer import Dummy, File, Network, Usb
from PIL import Image

from drivers.errors import DeviceDisconnected, DeviceError, DeviceTimeout
from drivers.escpos_config import EscposPrinterConfig
from drivers.interfaces import DeviceInfo, DeviceKind, DeviceState, PrintJob

logger = logging.getLogger(__name__)

MAX_JOB_PIXELS = 1024 * 8000  # a receipt is a strip of paper, not a poster
QR_SIZE = 6  # module size in dots


def encode_job(job: PrintJob, paper_width_px: int) -> bytes:
    """The ESC/POS bytes of one receipt (raises ValueError for a page that does not fit)."""
    height, width = job.image.shape[:2]
    if job.image.ndim != 2 or job.image.dtype != np.uint8:
        raise ValueError("the page must be a grey uint8 image")
    if width > paper_width_px or width * height > MAX_JOB_PIXELS:
        raise ValueError(f"a {width}x{height} page does not fit {paper_width_px}-dot paper")
    printer = Dummy()
    printer.hw("INIT")
    printer.image(Image.fromarray(job.image, mode="L"))  # the page is as wide as the paper
    if job.qr:
        printer.set(align="center")
        printer.qr(job.qr, size=QR_SIZE, native=True)
        printer.set(align="left")
    printer.cut(feed=True)
    return bytes(printer.output)


class EscposPrinter:
    """A real ESC/POS printer (see the module docstring)."""

    def __init__(self, config: EscposPrinterConfig) -> None:
        self._config = config
        self._state = DeviceState.CLOSED
        self._lock = asyncio.Lock()

    @property
    def info(self) -> DeviceInfo:
        c = self._config
        return DeviceInfo(
            device_id=c.device_id,
            kind=DeviceKind.PRINTER,
            driver="escpos",
            vendor="ESC/POS",
            model=f"{c.connection} receipt printer",
            usb_vid=c.usb_vendor,
            usb_pid=c.usb_product,
        )

    @property
    def state(self) -> DeviceState:
        return self._state

    @property
    def paper_width_px(self) -> int:
        return self._config.paper_width_px

    async def open(self) -> None:
        """Check the connection settings; the device is opened for each job (printers
        sleep, run out of paper and are switched off: a job opens what it needs)."""
        c = self._config
        if c.connection == "usb" and (c.usb_vendor is None or c.usb_product is None):
            raise DeviceError("usb_vendor and usb_product are needed", device_id=c.device_id)
        if c.connection == "network" and not c.host:
            raise DeviceError("host is needed", device_id=c.device_id)
        if c.connection == "file" and not c.device:
            raise DeviceError("device is needed", device_id=c.device_id)
        self._state = DeviceState.READY

    async def close(self) -> None:
        self._state = DeviceState.CLOSED

    async def print_job(self, job: PrintJob) -> None:
        data = encode_job(job, self._config.paper_width_px)
        async with self._lock:
            self._state = DeviceState.BUSY
            try:
                await asyncio.wait_for(
                    asyncio.to_thread(self._send, data), timeout=self._config.timeout_s
                )
            except TimeoutError:
                self._state = DeviceState.ERROR
                raise DeviceTimeout(
                    "the printer did not take the job", device_id=self.info.device_id
                ) from None
            except DeviceError:
                self._state = DeviceState.ERROR
                raise
            self._state = DeviceState.READY

    def _connection(self) -> Any:
        c = self._config
        if c.connection == "usb":
            return Usb(c.usb_vendor, c.usb_product, timeout=int(c.timeout_s * 1000))
        if c.connection == "network":
            return Network(c.host or "", c.port, timeout=c.timeout_s)
        return File(c.device or "")

    def _send(self, data: bytes) -> None:
        device_id = self.info.device_id
        printer = self._connection()
        try:
            printer.open()
            printer._raw(data)  # python-escpos's one write primitive
        except (DeviceNotFoundError, USBNotFoundError) as exc:
            raise DeviceDisconnected(f"printer not found: {exc}", device_id=device_id) from None
        except OSError as exc:
            raise DeviceError(f"printer write failed: {exc}", device_id=device_id) from None
        except Exception as exc:  # pyusb's USBError and friends, at the boundary
            raise DeviceError(
                f"printer failed: {type(exc).__name__}", device_id=device_id
            ) from None
        finally:
            try:
                printer.close()
            except Exception:
                logger.debug("closing the printer connection failed", exc_info=True)
