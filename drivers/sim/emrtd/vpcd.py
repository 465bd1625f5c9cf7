"""The vicc side of vsmartcard's vpcd socket protocol: present a card to pcscd.

vpcd (the pcscd driver of Debian's ``vsmartcard-vpcd``) listens on
127.0.0.1:35963 (its reader.conf ``CHANNELID``). A virtual card connects to
it; every message either way is a 2-byte big-endian length and a payload.
A 1-byte payload from vpcd is a control message: 0x00 power off, 0x01 power
on, 0x02 reset, 0x04 "send the ATR"; anything longer is a command APDU, which
the card answers with a response APDU. Closing the socket takes the card out
of the reader's field.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger(__name__)

DEFAULT_PORT = 35963
CTRL_OFF, CTRL_ON, CTRL_RESET, CTRL_ATR = 0x00, 0x01, 0x02, 0x04
MAX_MESSAGE = 0xFFFF


class Card(Protocol):
    def process(self, raw: bytes) -> bytes: ...

    def reset(self) -> None: ...


class VirtualCardLink:
    """Keeps one emulated card inserted in a vpcd reader, in a background thread."""

    def __init__(
        self,
        card: Card,
        atr: bytes,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        gone: type[Exception] | None = None,
    ) -> None:
        self.card = card
        self.atr = atr
        self._address = (host, port)
        self._gone = gone
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.on_removed: Callable[[], None] | None = None

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def insert(self, timeout_s: float = 5.0) -> None:
        """Connect to vpcd: the card enters the field."""
        if self._sock is not None:
            return
        sock = socket.create_connection(self._address, timeout=timeout_s)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._stop.clear()
        self.card.reset()
        self._thread = threading.Thread(target=self._serve, name="vpcd-card", daemon=True)
        self._thread.start()

    def remove(self) -> None:
        """Close the connection: the card leaves the field."""
        self._stop.set()
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _recv_exact(self, sock: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("vpcd closed the connection")
            data += chunk
        return data

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        if len(payload) > MAX_MESSAGE:
            raise ValueError("message longer than the vpcd protocol allows")
        sock.sendall(len(payload).to_bytes(2, "big") + payload)

    def _serve(self) -> None:
        sock = self._sock
        assert sock is not None
        try:
            while not self._stop.is_set():
                size = int.from_bytes(self._recv_exact(sock, 2), "big")
                payload = self._recv_exact(sock, size)
                if size == 1:
                    control = payload[0]
                    if control == CTRL_ATR:
                        self._send(sock, self.atr)
                    elif control in (CTRL_OFF, CTRL_ON, CTRL_RESET):
                        self.card.reset()
                    else:
                        logger.debug("vpcd control %02X ignored", control)
                    continue
                try:
                    answer = self.card.process(payload)
                except Exception as exc:
                    if self._gone is not None and isinstance(exc, self._gone):
                        logger.debug("emulated card leaves the field")
                        threading.Thread(target=self._leave, daemon=True).start()
                        return
                    raise
                self._send(sock, answer)
        except (ConnectionError, OSError):
            if not self._stop.is_set():
                logger.debug("vpcd connection ended")

    def _leave(self) -> None:
        self.remove()
        if self.on_removed is not None:
            self.on_removed()
