"""The PC/SC document reader: list readers, wait for a card, transmit APDUs.

Built on pyscard's thin ``smartcard.scard`` layer (the PC/SC calls themselves),
so every PC/SC error code is translated here into a typed driver error:
a card leaving the field is :class:`CardRemoved`, a missing pcscd or reader is
:class:`drivers.errors.DeviceDisconnected`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

from drivers.emrtd.errors import CardRemoved, NoCard
from drivers.errors import DeviceDisconnected, DeviceError, DeviceTimeout
from drivers.interfaces import CardInfo, DeviceInfo, DeviceKind, DeviceState
from drivers.pcsc.atr import supports_extended_length
from drivers.pcsc.config import PcscReaderConfig

logger = logging.getLogger(__name__)

VIRTUAL_PREFIX = "Virtual PCD"
#: removed / no card / reset / unresponsive / unpowered; and "not transacted", which on a
#: contactless reader means the link to the chip broke (it left the field mid-exchange).
_REMOVED = {0x80100069, 0x8010000C, 0x80100068, 0x80100066, 0x80100067, 0x80100016}
_GONE = {0x8010001D, 0x8010002E, 0x80100017, 0x80100009, 0x8010001E}
SCARD_ATTR_CHANNEL_ID = 0x00020110
SCARD_ATTR_MAXINPUT = 0x0007A007
#: An extended READ BINARY of 2 KiB under secure messaging needs about this much.
_EXTENDED_BUFFER = 2048 + 64


def _scard() -> Any:
    from smartcard import scard  # imported late: needs libpcsclite at run time

    return scard


def _text(hresult: int) -> str:
    try:
        return str(_scard().SCardGetErrorMessage(hresult))
    except Exception:  # pragma: no cover - message lookup only
        return f"0x{hresult & 0xFFFFFFFF:08X}"


def _usb_ids(channel_id: int) -> tuple[int, int] | None:
    """libccid's SCARD_ATTR_CHANNEL_ID is 0x0020BBAA for USB bus BB address AA."""
    if channel_id >> 16 != 0x0020:
        return None
    bus, address = (channel_id >> 8) & 0xFF, channel_id & 0xFF
    for dev in Path("/sys/bus/usb/devices").glob("*"):
        try:
            if (
                int((dev / "busnum").read_text()) != bus
                or int((dev / "devnum").read_text()) != address
            ):
                continue
            return int((dev / "idVendor").read_text(), 16), int((dev / "idProduct").read_text(), 16)
        except (OSError, ValueError):
            continue
    return None


class PcscCardChannel:
    """One connected card (a :class:`drivers.interfaces.CardChannel`)."""

    def __init__(self, reader: PcscDocumentReader, handle: Any, protocol: int, card: CardInfo):
        self._reader = reader
        self._handle = handle
        self._protocol = protocol
        self._card = card
        self._closed = False

    @property
    def card(self) -> CardInfo:
        return self._card

    def transmit(self, apdu: bytes) -> bytes:
        if self._closed:
            raise CardRemoved("the card channel is closed")
        hresult, response = _scard().SCardTransmit(self._handle, self._protocol, list(apdu))
        if hresult != 0:
            code = hresult & 0xFFFFFFFF
            if code in _REMOVED:
                raise CardRemoved(f"the document left the reader: {_text(hresult)}")
            if code in _GONE:
                raise DeviceDisconnected(f"the reader went away: {_text(hresult)}")
            raise DeviceError(f"SCardTransmit failed: {_text(hresult)}")
        if len(response) < 2:  # no status word: the RF link broke under the exchange
            raise CardRemoved("the document stopped answering (no status word)")
        return bytes(response)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _scard().SCardDisconnect(self._handle, _scard().SCARD_LEAVE_CARD)


class PcscDocumentReader:
    """A :class:`drivers.interfaces.DocumentReader` on pcscd."""

    def __init__(self, config: PcscReaderConfig) -> None:
        self._config = config
        self._context: Any = None
        self._name = ""
        self._state = DeviceState.CLOSED
        self._lock = threading.Lock()
        self._info = DeviceInfo(
            config.device_id, DeviceKind.DOCUMENT_READER, "pcsc", "", "PC/SC reader"
        )

    @property
    def info(self) -> DeviceInfo:
        return self._info

    @property
    def state(self) -> DeviceState:
        return self._state

    @property
    def reader_name(self) -> str:
        return self._name

    def list_readers(self) -> list[str]:
        """Reader names pcscd knows now (empty when none)."""
        scard = _scard()
        if self._context is None:
            self._establish()
        hresult, readers = scard.SCardListReaders(self._context, [])
        if hresult & 0xFFFFFFFF == 0x8010002E:
            return []
        if hresult != 0:
            raise DeviceDisconnected(f"SCardListReaders failed: {_text(hresult)}")
        return [str(r) for r in readers]

    def _establish(self) -> None:
        scard = _scard()
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != 0:
            raise DeviceDisconnected(f"pcscd is not reachable: {_text(hresult)}")
        self._context = context

    def _choose(self, readers: list[str]) -> str:
        wanted = self._config.reader_name
        for name in readers:
            if name.startswith(VIRTUAL_PREFIX) and not self._config.allow_virtual:
                continue
            if wanted in name:
                return name
        what = f"containing {wanted!r}" if wanted else "at all"
        raise DeviceDisconnected(f"no PC/SC reader {what} (pcscd lists {readers or 'none'})")

    def _describe(self, name: str) -> DeviceInfo:
        ids = None
        virtual = name.startswith(VIRTUAL_PREFIX)
        if not virtual:
            ids = self._channel_usb_ids(name)
        return DeviceInfo(
            self._config.device_id,
            DeviceKind.DOCUMENT_READER,
            "pcsc",
            "vsmartcard" if virtual else name.split(" ", 1)[0],
            name,
            usb_vid=ids[0] if ids else None,
            usb_pid=ids[1] if ids else None,
            simulated=virtual,
        )

    def _channel_usb_ids(self, name: str) -> tuple[int, int] | None:
        scard = _scard()
        hresult, handle, _proto = scard.SCardConnect(
            self._context, name, scard.SCARD_SHARE_DIRECT, 0
        )
        if hresult != 0:
            return None
        try:
            hresult, attr = scard.SCardGetAttrib(handle, SCARD_ATTR_CHANNEL_ID)
            if hresult != 0 or len(attr) < 4:
                return None
            return _usb_ids(int.from_bytes(bytes(attr[:4]), "little"))
        finally:
            scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)

    async def open(self) -> None:
        def _open() -> None:
            with self._lock:
                if self._context is None:
                    self._establish()
                self._name = self._choose(self.list_readers())
                self._info = self._describe(self._name)

        try:
            await asyncio.to_thread(_open)
        except DeviceError:
            self._state = DeviceState.DISCONNECTED
            raise
        self._state = DeviceState.READY
        logger.info("document reader %s ready", self._config.device_id)

    async def close(self) -> None:
        def _close() -> None:
            with self._lock:
                if self._context is not None:
                    _scard().SCardReleaseContext(self._context)
                    self._context = None

        await asyncio.to_thread(_close)
        self._state = DeviceState.CLOSED

    def _card_present(self, timeout_ms: int) -> bool:
        scard = _scard()
        hresult, states = scard.SCardGetStatusChange(
            self._context, timeout_ms, [(self._name, scard.SCARD_STATE_UNAWARE)]
        )
        if hresult != 0:
            raise DeviceDisconnected(f"reader status: {_text(hresult)}")
        _name, event, _atr = states[0]
        if event & scard.SCARD_STATE_PRESENT and not event & scard.SCARD_STATE_MUTE:
            return True
        hresult, states = scard.SCardGetStatusChange(
            self._context, timeout_ms, [(self._name, event)]
        )
        if hresult & 0xFFFFFFFF == 0x8010000A:  # SCARD_E_TIMEOUT
            return False
        if hresult != 0:
            raise DeviceDisconnected(f"reader status: {_text(hresult)}")
        return bool(states[0][1] & scard.SCARD_STATE_PRESENT)

    def _connect(self) -> PcscCardChannel:
        scard = _scard()
        hresult, handle, protocol = scard.SCardConnect(
            self._context,
            self._name,
            scard.SCARD_SHARE_EXCLUSIVE,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hresult != 0:
            if hresult & 0xFFFFFFFF in _REMOVED:
                raise CardRemoved(f"the document left before connecting: {_text(hresult)}")
            raise DeviceError(f"SCardConnect failed: {_text(hresult)}")
        hresult, _reader, _state, _proto, atr = scard.SCardStatus(handle)
        atr_bytes = bytes(atr) if hresult == 0 else b""
        extended = {
            "on": True,
            "off": False,
            "auto": supports_extended_length(atr_bytes) and self._buffer_ok(handle),
        }[self._config.extended_length]
        return PcscCardChannel(self, handle, protocol, CardInfo(self._name, atr_bytes, extended))

    def _buffer_ok(self, handle: Any) -> bool:
        hresult, attr = _scard().SCardGetAttrib(handle, SCARD_ATTR_MAXINPUT)
        if hresult != 0 or len(attr) < 4:
            return True  # the driver does not say; the card's word stands
        return int.from_bytes(bytes(attr[:4]), "little") >= _EXTENDED_BUFFER

    async def wait_for_card(self, timeout_s: float = 10.0) -> PcscCardChannel:
        if self._context is None:
            raise DeviceDisconnected("the document reader is not open")
        deadline = time.monotonic() + timeout_s
        while True:
            left_ms = int(max(0.0, deadline - time.monotonic()) * 1000)
            if await asyncio.to_thread(self._card_present, min(left_ms, 250)):
                try:
                    return await asyncio.to_thread(self._connect)
                except CardRemoved:
                    logger.info("the document left while connecting; waiting again")
            if time.monotonic() >= deadline:
                raise NoCard(f"no document presented within {timeout_s:.0f} s")


__all__ = ["DeviceTimeout", "PcscCardChannel", "PcscDocumentReader"]
