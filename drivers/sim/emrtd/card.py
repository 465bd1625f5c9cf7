"""The emulated eMRTD chip: an APDU in, an APDU out.

It implements what a BAC passport chip does: SELECT (master file and the LDS1
application), GET CHALLENGE, EXTERNAL AUTHENTICATE (BAC), secure messaging
with 3DES, READ BINARY (even and odd INS) and INTERNAL AUTHENTICATE (Active
Authentication with ECDSA, plain signature format, BSI TR-03111).
Faults for tests: the card can leave the field after a number of reads.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from drivers.sim.emrtd import card_crypto as cc
from drivers.sim.emrtd.lds_builder import ChipFiles

AID = bytes.fromhex("A0000002471001")


def _atr(historical: bytes) -> bytes:
    """PC/SC part 3 ATR of an ISO 14443-4 card: 3B 8n 80 01 <historical> TCK."""
    body = bytes((0x80 | len(historical), 0x80, 0x01)) + historical
    tck = 0
    for byte in body:
        tck ^= byte
    return b"\x3b" + body + bytes((tck,))


#: Historical bytes: category 80, card capabilities (73): selection by full DF
#: name, data coding 01, command chaining and extended Lc/Le (C0).
ATR = _atr(bytes.fromhex("80738001C0"))
ATR_SHORT_ONLY = _atr(bytes.fromhex("8073800180"))

OK = b"\x90\x00"
NOT_FOUND = b"\x6a\x82"
SECURITY = b"\x69\x82"
SM_ERROR = b"\x69\x88"
WRONG_P = b"\x6b\x00"
INS_UNKNOWN = b"\x6d\x00"
CLA_UNKNOWN = b"\x6e\x00"
AUTH_FAILED = b"\x63\x00"


class CardGone(Exception):
    """Raised inside the card to make the transport drop off the field."""


@dataclass
class _Apdu:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes
    le: int | None


def _parse(raw: bytes) -> _Apdu:
    if len(raw) < 4:
        raise ValueError("short APDU")
    cla, ins, p1, p2 = raw[:4]
    rest = raw[4:]
    if not rest:
        return _Apdu(cla, ins, p1, p2, b"", None)
    if len(rest) == 1:
        return _Apdu(cla, ins, p1, p2, b"", rest[0] or 256)
    if rest[0] == 0 and len(rest) >= 3:  # extended
        if len(rest) == 3:
            return _Apdu(cla, ins, p1, p2, b"", int.from_bytes(rest[1:3], "big") or 65536)
        lc = int.from_bytes(rest[1:3], "big")
        data = rest[3 : 3 + lc]
        tail = rest[3 + lc :]
        if len(data) != lc or len(tail) not in (0, 2):
            raise ValueError("bad extended APDU")
        le = (int.from_bytes(tail, "big") or 65536) if tail else None
        return _Apdu(cla, ins, p1, p2, data, le)
    lc = rest[0]
    data = rest[1 : 1 + lc]
    tail = rest[1 + lc :]
    if len(data) != lc or len(tail) > 1:
        raise ValueError("bad short APDU")
    return _Apdu(cla, ins, p1, p2, data, (tail[0] or 256) if tail else None)


def _objects(data: bytes) -> dict[int, bytes]:
    """The SM data objects of a protected command (one-byte tags, short lengths)."""
    out: dict[int, bytes] = {}
    i = 0
    while i < len(data):
        tag = data[i]
        size = data[i + 1]
        i += 2
        if size == 0x81:
            size = data[i]
            i += 1
        elif size == 0x82:
            size = int.from_bytes(data[i : i + 2], "big")
            i += 2
        out[tag] = data[i : i + size]
        i += size
    return out


def _do(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes((tag, n)) + value
    if n < 0x100:
        return bytes((tag, 0x81, n)) + value
    return bytes((tag, 0x82)) + n.to_bytes(2, "big") + value


class EmulatedPassport:
    """One chip's state machine. ``process`` is called once per APDU."""

    def __init__(self, chip: ChipFiles, mrz_information: str) -> None:
        self.chip = chip
        seed = hashlib.sha1(mrz_information.encode()).digest()[:16]  # noqa: S324 - ICAO BAC
        self._k_enc = cc.derive_key(seed, 1)
        self._k_mac = cc.derive_key(seed, 2)
        #: Tests: the card leaves the field when this many READ BINARY have been answered.
        self.leave_after_reads: int | None = None
        self.reads = 0
        self.reset()

    def reset(self) -> None:
        self._applet = False
        self._selected: int | None = None
        self._challenge: bytes | None = None
        self._ks: tuple[bytes, bytes] | None = None
        self._ssc = 0

    # ------------------------------------------------------------------ dispatch
    def process(self, raw: bytes) -> bytes:
        try:
            apdu = _parse(raw)
        except ValueError:
            return b"\x67\x00"
        if self._ks is not None:
            if apdu.cla & 0x0C != 0x0C:
                self._ks = None  # a plain command ends secure messaging
                return SECURITY
            return self._secure(apdu)
        if apdu.cla != 0x00:
            return CLA_UNKNOWN
        return self._plain(apdu)

    def _plain(self, apdu: _Apdu) -> bytes:
        if apdu.ins == 0xA4:
            return self._select(apdu)
        if apdu.ins == 0x84:
            self._challenge = os.urandom(8)
            return self._challenge + OK
        if apdu.ins == 0x82:
            return self._external_authenticate(apdu)
        if apdu.ins == 0xB0 and not self._applet and self._selected == 0x011C:
            return self._read(apdu)
        if apdu.ins in (0xB0, 0xB1, 0x88):
            return SECURITY
        return INS_UNKNOWN

    def _select(self, apdu: _Apdu) -> bytes:
        if apdu.p1 == 0x04:
            if apdu.data != AID:
                return NOT_FOUND
            self._applet, self._selected = True, None
            return OK
        if apdu.p1 in (0x02, 0x00) and len(apdu.data) == 2:
            fid = int.from_bytes(apdu.data, "big")
            if fid == 0x011C and not self._applet and fid in self.chip.files:
                self._selected = fid
                return OK
            if self._applet and fid in self.chip.files and fid != 0x011C:
                self._selected = fid
                return OK
            return NOT_FOUND
        return WRONG_P

    def _read(self, apdu: _Apdu) -> bytes:
        if self._selected is None:
            return b"\x69\x86"
        if self.leave_after_reads is not None and self.reads >= self.leave_after_reads:
            self.leave_after_reads = None
            raise CardGone
        self.reads += 1
        content = self.chip.files[self._selected]
        if apdu.ins == 0xB0:
            if apdu.p1 & 0x80:
                return WRONG_P  # short EF identifiers are not offered
            offset = (apdu.p1 << 8) | apdu.p2
        else:
            objs = _objects(apdu.data)
            if 0x54 not in objs:
                return b"\x6a\x80"
            offset = int.from_bytes(objs[0x54], "big")
        if offset > len(content):
            return WRONG_P
        want = apdu.le or 256
        part = content[offset : offset + want]
        status = OK if offset + want <= len(content) else b"\x62\x82"
        if apdu.ins == 0xB1:
            part = _do(0x53, part)
        return part + status

    # ----------------------------------------------------------------------- BAC
    def _external_authenticate(self, apdu: _Apdu) -> bytes:
        challenge, self._challenge = self._challenge, None
        if challenge is None or len(apdu.data) != 40:
            return b"\x69\x85"
        cryptogram, mac = apdu.data[:32], apdu.data[32:]
        if cc.retail_mac(self._k_mac, cc.iso_pad(cryptogram)) != mac:
            return AUTH_FAILED
        plain = cc.decrypt(self._k_enc, cryptogram)
        rnd_ifd, rnd_ic, k_ifd = plain[:8], plain[8:16], plain[16:]
        if rnd_ic != challenge:
            return AUTH_FAILED
        k_ic = os.urandom(16)
        answer = cc.encrypt(self._k_enc, rnd_ic + rnd_ifd + k_ic)
        answer += cc.retail_mac(self._k_mac, cc.iso_pad(answer))
        seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
        self._ks = (cc.derive_key(seed, 1), cc.derive_key(seed, 2))
        self._ssc = int.from_bytes(rnd_ic[4:] + rnd_ifd[4:], "big")
        return answer + OK

    # -------------------------------------------------------- secure messaging
    def _tick(self) -> bytes:
        self._ssc = (self._ssc + 1) & 0xFFFFFFFFFFFFFFFF
        return self._ssc.to_bytes(8, "big")

    def _secure(self, apdu: _Apdu) -> bytes:
        assert self._ks is not None
        k_enc, k_mac = self._ks
        objs = _objects(apdu.data)
        header = cc.iso_pad(bytes((apdu.cla, apdu.ins, apdu.p1, apdu.p2)))
        covered = b""
        for tag in (0x85, 0x87, 0x97):
            if tag in objs:
                covered += _do(tag, objs[tag])
        ssc = self._tick()
        if (
            0x8E not in objs
            or cc.retail_mac(k_mac, cc.iso_pad(ssc + header + covered)) != objs[0x8E]
        ):
            self._ks = None
            return SM_ERROR
        data = b""
        if 0x87 in objs:
            data = cc.iso_unpad(cc.decrypt(k_enc, objs[0x87][1:]))
        elif 0x85 in objs:
            data = cc.iso_unpad(cc.decrypt(k_enc, objs[0x85]))
        le = None
        if 0x97 in objs:
            le = int.from_bytes(objs[0x97], "big") or (256 if len(objs[0x97]) == 1 else 65536)
        inner = _Apdu(0x00, apdu.ins, apdu.p1, apdu.p2, data, le)
        answer = self._inner(inner)
        body, status = answer[:-2], answer[-2:]
        reply = b""
        if body:
            reply += _do(0x87, b"\x01" + cc.encrypt(k_enc, cc.iso_pad(body)))
        reply += _do(0x99, status)
        mac = cc.retail_mac(k_mac, cc.iso_pad(self._tick() + reply))
        return reply + _do(0x8E, mac) + OK

    def _inner(self, apdu: _Apdu) -> bytes:
        if apdu.ins == 0xA4:
            return self._select(apdu)
        if apdu.ins in (0xB0, 0xB1):
            return self._read(apdu)
        if apdu.ins == 0x88:
            return self._internal_authenticate(apdu)
        return INS_UNKNOWN

    def _internal_authenticate(self, apdu: _Apdu) -> bytes:
        key = self.chip.aa_key
        if key is None:
            return INS_UNKNOWN
        if len(apdu.data) != 8:
            return b"\x67\x00"
        r, s = decode_dss_signature(key.sign(apdu.data, ec.ECDSA(hashes.SHA256())))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big") + OK
