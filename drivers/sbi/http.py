"""A small HTTP/1.x client on asyncio streams for SBI's custom methods.

SBI services speak HTTP with their own methods (``MOSIPDISC /device``,
``MOSIPDINFO /info``, ``RCAPTURE /capture``, ``STREAM /stream``) on
127.0.0.1 only. This client sends one JSON request per connection
(``Connection: close``) and reads the answer by ``Content-Length``, chunked
transfer coding, or until the service closes, as the reference services do.
Nothing here blocks the event loop, and every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from drivers.errors import DeviceDisconnected, DeviceError, DeviceTimeout
from drivers.sbi.errors import SbiProtocolError, raise_for_error

logger = logging.getLogger(__name__)

#: SBI services bind to this address only ("127.0.0.1 and not localhost").
SBI_HOST = "127.0.0.1"
APP_NAME = "claim-kiosk-appliance"
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        """The JSON body of a 200 answer; an HTTP error becomes a device error."""
        try:
            body = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if self.status != 200:
                raise DeviceError(f"device service answered HTTP {self.status}") from None
            raise SbiProtocolError(f"response body is not JSON: {exc}") from None
        if self.status != 200:
            raise_for_error(body.get("error") if isinstance(body, dict) else None)
            raise DeviceError(f"device service answered HTTP {self.status}")
        return body


@dataclass
class HttpStream:
    """An open response whose body the caller reads (the STREAM preview)."""

    status: int
    headers: dict[str, str]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def close(self) -> None:
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), timeout=1.0)
        except (OSError, TimeoutError):
            pass


def _encode_request(method: str, port: int, path: str, body: object | None) -> bytes:
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\n"
        f"Host: {SBI_HOST}:{port}\r\n"
        f"EXT: {APP_NAME}\r\n"
        "Accept: */*\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode("ascii") + payload


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise SbiProtocolError("response header too long") from None
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise DeviceDisconnected("the device service closed the connection") from None
        raise SbiProtocolError("truncated response header") from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise SbiProtocolError("not an HTTP response")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise SbiProtocolError("malformed response header line")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers expected
            return bytes(body)
        if len(body) + size > MAX_BODY_BYTES:
            raise SbiProtocolError("response body too large")
        body += await reader.readexactly(size)
        await reader.readexactly(2)


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return await _read_chunked(reader)
        if "content-length" in headers:
            length = int(headers["content-length"])
            if not 0 <= length <= MAX_BODY_BYTES:
                raise SbiProtocolError("bad Content-Length")
            return await reader.readexactly(length)
        body = bytearray()
        while len(body) <= MAX_BODY_BYTES:
            chunk = await reader.read(64 * 1024)
            if not chunk:
                break
            body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise SbiProtocolError("response body too large")
        return bytes(body)
    except (ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise SbiProtocolError(f"truncated or malformed response body: {exc}") from None


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.open_connection(SBI_HOST, port, limit=MAX_HEADER_BYTES)
    except OSError as exc:
        raise DeviceDisconnected(f"no SBI service on port {port}: {exc.strerror}") from None


async def request(
    port: int, method: str, path: str, body: object | None, *, timeout_s: float
) -> HttpResponse:
    """Send one request and read the whole response within ``timeout_s``."""

    async def exchange() -> HttpResponse:
        reader, writer = await _connect(port)
        try:
            writer.write(_encode_request(method, port, path, body))
            await writer.drain()
            status, headers = await _read_head(reader)
            return HttpResponse(status, headers, await _read_body(reader, headers))
        except ConnectionError as exc:
            raise DeviceDisconnected(f"SBI connection lost: {exc}") from None
        finally:
            writer.close()

    try:
        return await asyncio.wait_for(exchange(), timeout=timeout_s)
    except TimeoutError:
        raise DeviceTimeout(f"{method} on port {port} took longer than {timeout_s:g} s") from None


async def open_stream(
    port: int, method: str, path: str, body: object | None, *, timeout_s: float
) -> HttpStream:
    """Send a request and return once the response head has arrived."""

    async def start() -> HttpStream:
        reader, writer = await _connect(port)
        try:
            writer.write(_encode_request(method, port, path, body))
            await writer.drain()
            status, headers = await _read_head(reader)
        except BaseException:
            writer.close()
            raise
        return HttpStream(status, headers, reader, writer)

    try:
        return await asyncio.wait_for(start(), timeout=timeout_s)
    except TimeoutError:
        raise DeviceTimeout(f"{method} on port {port} did not start in {timeout_s:g} s") from None


async def read_rest(stream: HttpStream) -> bytes:
    """The remaining body of an opened response (used when STREAM answers with an error)."""
    return await _read_body(stream.reader, stream.headers)
