"""Read a document chip: access control, then EF.COM, EF.SOD and the data groups.

:func:`read_document` is blocking (APDUs go one at a time through a
:class:`drivers.interfaces.CardChannel`); call it from a worker thread. It
returns raw bytes and protocol evidence; verification is the engine's job.
"""

from __future__ import annotations

import logging
import os
import time

from drivers.emrtd import lds
from drivers.emrtd.apdu import Command, Response
from drivers.emrtd.bac import perform_bac
from drivers.emrtd.errors import ChipError, ChipFileNotFound, ChipFileTooLarge
from drivers.emrtd.mrz_key import MrzKeyInput
from drivers.emrtd.reading import (
    AccessProtocol,
    ActiveAuthExchange,
    ChipReading,
    ReadLimits,
)
from drivers.emrtd.secure_messaging import SecureChannel
from drivers.emrtd.tlv import TlvError, read_header, unwrap
from drivers.interfaces import CardChannel

logger = logging.getLogger(__name__)

#: Data groups read when EF.COM lists them (DG3/DG4 need EAC, which a kiosk lacks).
WANTED_GROUPS = (1, 2, 14, 15)


class _Files:
    """SELECT + READ BINARY over one access channel (plain or secure messaging)."""

    def __init__(self, channel: CardChannel, sm: SecureChannel | None, limits: ReadLimits) -> None:
        self._channel = channel
        self._sm = sm
        self._ext = channel.card.extended_length
        self._chunk = limits.extended_chunk if self._ext else limits.short_chunk

    def send(self, command: Command) -> Response:
        if self._sm is None:
            return Response.parse(self._channel.transmit(command.encode(extended=self._ext)))
        raw = self._channel.transmit(self._sm.wrap(command, extended=self._ext))
        return self._sm.unwrap(raw)

    def select(self, fid: int) -> bool:
        answer = self.send(Command(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big")))
        if answer.sw in (0x6A82, 0x6A80):
            return False
        answer.expect_ok(f"SELECT {fid:04X}")
        return True

    def _read_binary(self, offset: int, length: int) -> bytes:
        if offset <= 0x7FFF:
            answer = self.send(Command(0x00, 0xB0, offset >> 8, offset & 0xFF, le=length))
            data = answer.data
        else:  # odd INS: the offset travels in DO54, the data comes back in DO53
            do54 = b"\x54\x03" + offset.to_bytes(3, "big")
            answer = self.send(Command(0x00, 0xB1, 0x00, 0x00, do54, le=length + 4))
            try:
                data = unwrap(answer.data, 0x53) if answer.data else b""
            except TlvError as exc:
                raise ChipError(f"READ BINARY (B1) at {offset}: {exc}") from exc
        if answer.sw not in (0x9000, 0x6282):
            raise ChipError(f"READ BINARY at {offset}: status {answer.sw:04X}")
        return data[:length]

    def read(self, fid: int, limit: int) -> bytes:
        """The whole file, after checking its announced length against ``limit``."""
        if not self.select(fid):
            raise ChipFileNotFound(f"file {fid:04X} is not on the chip")
        buf = bytearray(self._read_binary(0, 6))
        try:
            header = read_header(bytes(buf))
        except TlvError as exc:
            raise ChipError(f"file {fid:04X}: {exc}") from exc
        total = header.header_len + header.length
        if total > limit:
            raise ChipFileTooLarge(f"file {fid:04X} announces {total} bytes; the limit is {limit}")
        del buf[total:]
        while len(buf) < total:
            chunk = self._read_binary(len(buf), min(self._chunk, total - len(buf)))
            if not chunk:
                raise ChipError(f"file {fid:04X}: the chip returned no data at {len(buf)}")
            buf += chunk
        return bytes(buf)


def _card_access(channel: CardChannel, limits: ReadLimits) -> bytes | None:
    """EF.CardAccess (unprotected, in the master file); None when absent."""
    try:
        return _Files(channel, None, limits).read(lds.EF_CARD_ACCESS, limits.card_access_bytes)
    except ChipFileNotFound:
        return None
    except ChipError as exc:
        logger.info("EF.CardAccess unreadable: %s", exc)
        return None


def read_document(
    channel: CardChannel,
    key: MrzKeyInput,
    limits: ReadLimits | None = None,
    *,
    active_auth: bool = True,
) -> ChipReading:
    """Open the chip with the MRZ keys and read EF.COM, EF.SOD, DG1, DG2, DG14, DG15."""
    limits = limits or ReadLimits()
    started = time.perf_counter()
    notes: list[str] = []
    card_access = _card_access(channel, limits)
    pace_offered = card_access is not None
    pace_note = ""
    if pace_offered:
        # PACE is not implemented yet; ICAO 9303-11 §4.2 lets the terminal use BAC
        # when the chip also supports it (every chip issued until 2026 must).
        pace_note = "PACE offered by the chip; this reader uses BAC (PACE not implemented)"
        notes.append(pace_note)
    plain = _Files(channel, None, limits)
    plain.send(Command(0x00, 0xA4, 0x04, 0x0C, lds.LDS1_AID)).expect_ok("SELECT eMRTD applet")
    sm = perform_bac(channel.transmit, key)
    files = _Files(channel, sm, limits)
    com = files.read(lds.EF_COM, limits.com_bytes)
    try:
        listed = lds.groups_in_com(com)
    except ValueError as exc:
        raise ChipError(str(exc)) from exc
    sod = files.read(lds.EF_SOD, limits.sod_bytes)
    groups: dict[int, bytes] = {}
    for number in WANTED_GROUPS:
        if number not in listed:
            continue
        fid, _tag = lds.DATA_GROUPS[number]
        try:
            groups[number] = files.read(fid, limits.for_group(number))
        except ChipFileNotFound:
            notes.append(f"DG{number} listed in EF.COM but absent")
    exchange = None
    if active_auth and 15 in groups:
        challenge = os.urandom(8)
        answer = files.send(Command(0x00, 0x88, 0x00, 0x00, challenge, le=256))
        if answer.ok:
            exchange = ActiveAuthExchange(challenge, answer.data)
        else:
            notes.append(f"INTERNAL AUTHENTICATE failed with status {answer.sw:04X}")
            exchange = ActiveAuthExchange(challenge, b"")
    chip_auth = "not_present"
    if 14 in groups:
        chip_auth = "not_performed: Chip Authentication is not implemented by this reader"
    return ChipReading(
        reader=channel.card.reader,
        atr=channel.card.atr,
        access=AccessProtocol.BAC,
        pace_offered=pace_offered,
        pace_note=pace_note,
        com=com,
        sod=sod,
        data_groups=groups,
        active_auth=exchange,
        chip_auth=chip_auth,
        card_access=card_access,
        extended_length=channel.card.extended_length,
        read_ms=(time.perf_counter() - started) * 1000,
        notes=tuple(notes),
    )
