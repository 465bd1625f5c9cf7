"""ISO/IEC 7816-4 command and response APDUs, short and extended length."""

from __future__ import annotations

from dataclasses import dataclass

from drivers.emrtd.errors import ChipError

SW_OK = 0x9000


@dataclass(frozen=True)
class Command:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    #: Expected response length; None: no Le; 0 with ``le_max``: "as much as possible".
    le: int | None = None

    def encode(self, *, extended: bool = False) -> bytes:
        """Serialise; extended length is used when asked or when the sizes need it."""
        header = bytes((self.cla, self.ins, self.p1, self.p2))
        need_ext = extended or len(self.data) > 255 or (self.le is not None and self.le > 256)
        if len(self.data) > 65535 or (self.le is not None and not 0 <= self.le <= 65536):
            raise ValueError("APDU too long")
        if not need_ext:
            body = b""
            if self.data:
                body += bytes((len(self.data),)) + self.data
            if self.le is not None:
                body += bytes((self.le & 0xFF,))
            return header + body
        body = b""
        if self.data:
            body += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
        if self.le is not None:
            le = (self.le & 0xFFFF).to_bytes(2, "big")
            body += le if self.data else b"\x00" + le
        return header + body


@dataclass(frozen=True)
class Response:
    data: bytes
    sw: int

    @classmethod
    def parse(cls, raw: bytes) -> Response:
        if len(raw) < 2:
            raise ChipError(f"response of {len(raw)} bytes has no status word")
        return cls(raw[:-2], int.from_bytes(raw[-2:], "big"))

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK

    def expect_ok(self, what: str) -> bytes:
        if self.sw != SW_OK:
            raise ChipError(f"{what}: status {self.sw:04X}")
        return self.data
