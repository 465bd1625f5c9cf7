"""Secure messaging (ICAO 9303-11 §9.8): wrap commands, check and unwrap responses.

One :class:`SecureChannel` holds the session keys and the send sequence
counter (SSC). The SSC is incremented before every command and every
response, and is part of each MAC, so a replayed or reordered APDU fails.
3DES (after BAC) and AES (after PACE or Chip Authentication) are supported.
"""

from __future__ import annotations

from drivers.emrtd import sm_crypto as c
from drivers.emrtd.apdu import Command, Response
from drivers.emrtd.errors import SecureMessagingError
from drivers.emrtd.tlv import TlvError, encode, iter_tlv


class SecureChannel:
    def __init__(self, kind: c.Cipherkind, ks_enc: bytes, ks_mac: bytes, ssc: int) -> None:
        self.kind = kind
        self._enc = ks_enc
        self._mac = ks_mac
        self._ssc = ssc

    @property
    def ssc(self) -> int:
        return self._ssc

    def _ssc_bytes(self) -> bytes:
        return self._ssc.to_bytes(self.kind.block, "big")

    def _iv(self) -> bytes:
        if self.kind is c.Cipherkind.TDES:
            return bytes(8)
        return c.aes_ecb_block(self._enc, self._ssc_bytes())

    def _crypt(self, data: bytes, *, decrypt: bool = False) -> bytes:
        if self.kind is c.Cipherkind.TDES:
            return c.tdes_cbc(self._enc, data, decrypt=decrypt)
        return c.aes_cbc(self._enc, data, self._iv(), decrypt=decrypt)

    def _mac8(self, message: bytes) -> bytes:
        return c.mac8(self.kind, self._mac, c.pad(self._ssc_bytes() + message, self.kind.block))

    def wrap(self, command: Command, *, extended: bool = False) -> bytes:
        """The protected APDU for ``command`` (CLA with the SM bits set)."""
        self._ssc = (self._ssc + 1) % (1 << (8 * self.kind.block))
        cla = command.cla | 0x0C
        header = bytes((cla, command.ins, command.p1, command.p2))
        block = self.kind.block
        do87 = b""
        if command.data:
            encrypted = self._crypt(c.pad(command.data, block))
            # odd INS carries its data in DO85 (no padding-content indicator)
            do87 = encode(0x85, encrypted) if command.ins & 1 else encode(0x87, b"\x01" + encrypted)
        do97 = b""
        if command.le is not None:
            le = command.le
            do97 = encode(
                0x97, le.to_bytes(2, "big") if extended and le > 256 else bytes((le & 0xFF,))
            )
        mac = self._mac8(c.pad(header, block) + do87 + do97)
        body = do87 + do97 + encode(0x8E, mac)
        le_out = 65536 if extended else 256
        return Command(cla, command.ins, command.p1, command.p2, body, le_out).encode(
            extended=extended
        )

    def unwrap(self, raw: bytes) -> Response:
        """Check the response MAC and decrypt it; the SW returned is the protected DO99."""
        self._ssc = (self._ssc + 1) % (1 << (8 * self.kind.block))
        outer = Response.parse(raw)
        if not outer.data:
            # plain error status: the chip dropped secure messaging (e.g. 6987/6988)
            raise SecureMessagingError(f"chip answered {outer.sw:04X} without secure messaging")
        try:
            objects = list(iter_tlv(outer.data))
        except TlvError as exc:
            raise SecureMessagingError(f"malformed protected response: {exc}") from exc
        covered = b""
        do87 = do99 = mac = None
        for tag, value in objects:
            if tag in (0x85, 0x87):
                do87 = (tag, value)
                covered += encode(tag, value)
            elif tag == 0x99:
                do99 = value
                covered += encode(tag, value)
            elif tag == 0x8E:
                mac = value
        if mac is None or do99 is None or len(do99) != 2:
            raise SecureMessagingError("protected response lacks DO99 or DO8E")
        if self._mac8(covered) != mac:
            raise SecureMessagingError("response MAC does not verify")
        data = b""
        if do87 is not None:
            tag, value = do87
            cipher = value[1:] if tag == 0x87 else value
            if tag == 0x87 and value[:1] != b"\x01":
                raise SecureMessagingError("DO87 without padding indicator 01")
            if not cipher or len(cipher) % self.kind.block:
                raise SecureMessagingError("encrypted data is not a whole number of blocks")
            try:
                data = c.unpad(self._crypt(cipher, decrypt=True))
            except ValueError as exc:
                raise SecureMessagingError(str(exc)) from exc
        return Response(data, int.from_bytes(do99, "big"))
