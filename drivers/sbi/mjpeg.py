"""Reading an M-JPEG ``multipart/x-mixed-replace`` body (the SBI STREAM preview).

Each part is ``--boundary`` CRLF, part headers, CRLF, one JPEG, CRLF. Parts
with ``Content-Length`` are read exactly; parts without it end at the next
delimiter. Habits of deployed services are tolerated: a boundary parameter
that already starts with ``--`` (the MOSIP reference mock declares
``boundary=--BoundaryString`` and writes ``--BoundaryString`` lines), extra
blank lines between parts, and a body that ends in something other than the
close-delimiter after its last part (the mock appends its status there).
"""

from __future__ import annotations

import asyncio
import re

from drivers.sbi.errors import SbiProtocolError

MAX_PART_BYTES = 16 * 1024 * 1024
MAX_LINE_BYTES = 4096
_CHUNK = 64 * 1024
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


def boundary_of(content_type: str) -> str:
    if not content_type.lower().startswith("multipart/"):
        raise SbiProtocolError(f"stream is {content_type or 'untyped'}, not multipart")
    match = _BOUNDARY.search(content_type)
    if not match:
        raise SbiProtocolError("multipart stream without a boundary")
    return match.group(1).strip()


class MultipartReader:
    """Parts of one multipart body, read incrementally from a stream."""

    def __init__(self, reader: asyncio.StreamReader, boundary: str) -> None:
        self._reader = reader
        self._buffer = bytearray()
        self._delimiters = {b"--" + boundary.encode("latin-1")}
        if boundary.startswith("--"):
            self._delimiters.add(boundary.encode("latin-1"))
        self._eof = False
        self._parts = 0

    async def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = await self._reader.read(_CHUNK)
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    async def _readline(self) -> bytes | None:
        while True:
            index = self._buffer.find(b"\n")
            if index >= 0:
                line = bytes(self._buffer[: index + 1])
                del self._buffer[: index + 1]
                return line.rstrip(b"\r\n")
            if len(self._buffer) > MAX_LINE_BYTES:
                raise SbiProtocolError("multipart line too long")
            if not await self._fill():
                return None

    async def _readexactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not await self._fill():
                raise SbiProtocolError("multipart part is truncated")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def _read_to_delimiter(self) -> bytes:
        searched = 0
        while True:
            for delimiter in sorted(self._delimiters, key=len):
                index = self._buffer.find(b"\r\n" + delimiter, max(searched - 2, 0))
                if index >= 0:
                    data = bytes(self._buffer[:index])
                    del self._buffer[: index + 2]  # leave the delimiter line for next_part
                    return data
            searched = max(len(self._buffer) - max(len(d) for d in self._delimiters) - 2, 0)
            if len(self._buffer) > MAX_PART_BYTES:
                raise SbiProtocolError("multipart part too large")
            if not await self._fill():
                data = bytes(self._buffer)
                self._buffer.clear()
                return data

    async def next_part(self) -> tuple[dict[str, str], bytes] | None:
        """The next part's headers (lower-case names) and body; ``None`` at the end."""
        while True:
            line = await self._readline()
            if line is None:
                return None
            stripped = line.strip()
            if not stripped:
                continue
            if any(stripped == d + b"--" for d in self._delimiters):
                return None
            if stripped in self._delimiters:
                break
            if self._parts:
                # The MOSIP mock writes its final status after the last part, without a
                # close-delimiter: what follows the parts is an epilogue, not a frame.
                self._eof = True
                self._buffer.clear()
                return None
            raise SbiProtocolError("multipart stream lost its boundary")
        headers: dict[str, str] = {}
        while True:
            line = await self._readline()
            if line is None:
                raise SbiProtocolError("multipart part headers are truncated")
            if not line.strip():
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            try:
                size = int(headers["content-length"])
            except ValueError:
                raise SbiProtocolError("bad part Content-Length") from None
            if not 0 <= size <= MAX_PART_BYTES:
                raise SbiProtocolError("part Content-Length out of range")
            body = await self._readexactly(size)
        else:
            body = await self._read_to_delimiter()
        self._parts += 1
        return headers, body
