"""Test documents for the chip tests: a PKI, chips built from test data, a pcscd + vpcd stack.

The holder is ICAO 9303's own specimen (Anna Maria Eriksson, Utopia); the portrait
is scikit-image's public-domain astronaut. Certificates are generated per run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from central.dev_engines import free_port
from drivers.emrtd.mrz_key import MrzKeyInput
from drivers.interfaces import CardInfo
from drivers.sim.emrtd import lds_builder as lb
from drivers.sim.emrtd import pki
from drivers.sim.emrtd.card import ATR, EmulatedPassport

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")


def portrait() -> tuple[bytes, tuple[int, int]]:
    """A DG2-sized JPEG 2000 portrait (the astronaut's head and shoulders)."""
    from skimage import data

    image = cv2.cvtColor(data.astronaut()[10:330, 110:350], cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jp2", image, [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 60])
    assert ok
    return encoded.tobytes(), (image.shape[1], image.shape[0])


@dataclass
class Pki:
    csca: pki.Issuer
    ds: pki.Issuer


def make_pki() -> Pki:
    csca = pki.make_csca()
    return Pki(csca, pki.make_document_signer(csca))


def key_of(holder: lb.Holder) -> MrzKeyInput:
    return MrzKeyInput(holder.document_number, holder.date_of_birth, holder.date_of_expiry)


def make_card(
    signer: pki.Issuer, holder: lb.Holder | None = None, **kwargs: object
) -> EmulatedPassport:
    holder = holder or lb.Holder()
    image, size = portrait()
    chip = lb.build_chip(holder, image, size, signer, **kwargs)  # type: ignore[arg-type]
    return EmulatedPassport(chip, key_of(holder).mrz_information)


class DirectChannel:
    """An in-process CardChannel straight into the emulator (protocol unit tests)."""

    def __init__(self, card: EmulatedPassport, *, extended: bool = True) -> None:
        self._card = card
        self.card = CardInfo("direct", ATR, extended)
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes) -> bytes:
        self.sent.append(apdu)
        return self._card.process(apdu)

    def close(self) -> None:
        pass


def pcsc_stack_unavailable() -> str | None:
    if shutil.which("pcscd") is None:
        return "pcscd is not installed (apt-get install pcscd; make system-deps)"
    if not VPCD_DRIVER.exists():
        return "vsmartcard-vpcd is not installed (apt-get install vsmartcard-vpcd)"
    if os.geteuid() != 0:
        return "pcsc-lite 1.9 keeps its socket in /run/pcscd: the pcscd fixture needs root"
    return None


@contextlib.contextmanager
def pcscd(tmp: Path) -> Iterator[int]:
    """A foreground pcscd whose only reader is vpcd on a free port; yields the port.

    pcsc-lite 1.9.9 (Debian 12) ignores PCSCLITE_CSOCK_NAME on the daemon side,
    so the socket is the default /run/pcscd/pcscd.comm; the reader config
    directory (-c) and vpcd's port are our own.
    """
    if PCSCD_SOCKET.exists():
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(PCSCD_SOCKET))
                raise RuntimeError("another pcscd is running on /run/pcscd/pcscd.comm")
            except OSError:
                PCSCD_SOCKET.unlink()
    port = free_port(twin=1)  # port + 1 free too, as vpcd may take it
    conf = tmp / "reader.conf.d"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "vpcd").write_text(
        f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:{port}\n'
        f"LIBPATH {VPCD_DRIVER}\nCHANNELID {port}\n"
    )
    log = (tmp / "pcscd.log").open("w")
    proc = subprocess.Popen(["pcscd", "-f", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _vpcd_listening(port):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"pcscd exited: {(tmp / 'pcscd.log').read_text()[-500:]}")
            time.sleep(0.05)
        else:
            raise RuntimeError("vpcd did not start listening")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _vpcd_listening(port: int) -> bool:
    """pcscd answers and lists the virtual readers (vpcd is listening by then)."""
    if not PCSCD_SOCKET.exists():
        return False
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != 0:
        return False
    try:
        hresult, readers = scard.SCardListReaders(context, [])
        return hresult == 0 and any(r.startswith("Virtual PCD") for r in readers)
    finally:
        scard.SCardReleaseContext(context)


def jpeg_of(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return data.tobytes()


def wait_reader_empty(name: str = "Virtual PCD 00 00", timeout_s: float = 5.0) -> None:
    """Block until pcscd has seen the previous card leave (so a new one is a new card)."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == 0
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            hresult, states = scard.SCardGetStatusChange(
                context, 100, [(name, scard.SCARD_STATE_UNAWARE)]
            )
            if hresult == 0 and states[0][1] & scard.SCARD_STATE_EMPTY:
                return
            time.sleep(0.05)
        raise TimeoutError("the virtual reader still shows a card")
    finally:
        scard.SCardReleaseContext(context)
