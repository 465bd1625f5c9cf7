"""Basic Access Control (ICAO 9303-11 §4.3): mutual authentication from the MRZ keys."""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable

from drivers.emrtd import sm_crypto as c
from drivers.emrtd.apdu import Command, Response
from drivers.emrtd.errors import ChipAccessDenied, ChipError
from drivers.emrtd.mrz_key import MrzKeyInput
from drivers.emrtd.secure_messaging import SecureChannel

Transmit = Callable[[bytes], bytes]
TDES = c.Cipherkind.TDES


def perform_bac(transmit: Transmit, key: MrzKeyInput) -> SecureChannel:
    """Run GET CHALLENGE + EXTERNAL AUTHENTICATE; return the 3DES secure channel.

    Raises :class:`ChipAccessDenied` when the chip rejects the cryptogram (wrong
    MRZ keys) or answers with a cryptogram that our keys do not verify.
    """
    seed = key.key_seed()
    k_enc, k_mac = c.kdf(seed, c.KDF_ENC, TDES), c.kdf(seed, c.KDF_MAC, TDES)
    challenge = Response.parse(transmit(Command(0x00, 0x84, 0x00, 0x00, le=8).encode()))
    rnd_ic = challenge.expect_ok("GET CHALLENGE")
    if len(rnd_ic) != 8:
        raise ChipError(f"GET CHALLENGE returned {len(rnd_ic)} bytes, not 8")
    rnd_ifd, k_ifd = os.urandom(8), os.urandom(16)
    e_ifd = c.tdes_cbc(k_enc, rnd_ifd + rnd_ic + k_ifd)
    m_ifd = c.retail_mac(k_mac, c.pad(e_ifd, 8))
    answer = Response.parse(
        transmit(Command(0x00, 0x82, 0x00, 0x00, e_ifd + m_ifd, le=40).encode())
    )
    if answer.sw in (0x6300, 0x6982, 0x6985, 0x6A80, 0x6A88) or (answer.sw & 0xFFF0 == 0x63C0):
        raise ChipAccessDenied(f"the chip refused the MRZ access keys (status {answer.sw:04X})")
    data = answer.expect_ok("EXTERNAL AUTHENTICATE")
    if len(data) != 40:
        raise ChipError(f"EXTERNAL AUTHENTICATE returned {len(data)} bytes, not 40")
    e_ic, m_ic = data[:32], data[32:]
    if not hmac.compare_digest(c.retail_mac(k_mac, c.pad(e_ic, 8)), m_ic):
        raise ChipAccessDenied("the chip's authentication cryptogram does not verify")
    plain = c.tdes_cbc(k_enc, e_ic, decrypt=True)
    if plain[:8] != rnd_ic or plain[8:16] != rnd_ifd:
        raise ChipAccessDenied("the chip's cryptogram does not echo the challenges")
    k_ic = plain[16:32]
    shared = bytes(a ^ b for a, b in zip(k_ifd, k_ic, strict=True))
    ssc = int.from_bytes(rnd_ic[-4:] + rnd_ifd[-4:], "big")
    return SecureChannel(TDES, c.kdf(shared, c.KDF_ENC, TDES), c.kdf(shared, c.KDF_MAC, TDES), ssc)
