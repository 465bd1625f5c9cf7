"""Logical Data Structure constants (ICAO 9303-10): file ids, tags, applet AID."""

from __future__ import annotations

from types import MappingProxyType

from drivers.emrtd.tlv import TlvError, find, unwrap

#: eMRTD LDS1 application identifier.
LDS1_AID = bytes.fromhex("A0000002471001")
EF_CARD_ACCESS = 0x011C
EF_COM = 0x011E
EF_SOD = 0x011D
COM_TAG = 0x60
SOD_TAG = 0x77

#: data group number -> (file id, outer tag)
DATA_GROUPS = MappingProxyType(
    {
        1: (0x0101, 0x61),
        2: (0x0102, 0x75),
        3: (0x0103, 0x63),
        4: (0x0104, 0x76),
        5: (0x0105, 0x65),
        7: (0x0107, 0x67),
        11: (0x010B, 0x6B),
        12: (0x010C, 0x6C),
        14: (0x010E, 0x6E),
        15: (0x010F, 0x6F),
    }
)
_TAG_TO_DG = MappingProxyType({tag: dg for dg, (_fid, tag) in DATA_GROUPS.items()})


def groups_in_com(com: bytes) -> list[int]:
    """Data groups EF.COM lists (tag 5C); unknown tags are ignored."""
    try:
        tags = find(unwrap(com, COM_TAG), 0x5C)
    except TlvError as exc:
        raise ValueError(f"EF.COM: {exc}") from exc
    return sorted({_TAG_TO_DG[t] for t in tags if t in _TAG_TO_DG})


def mrz_of_dg1(dg1: bytes) -> str:
    """The MRZ text stored in DG1 (tag 61 / 5F1F)."""
    try:
        return find(unwrap(dg1, 0x61), 0x5F1F).decode("ascii")
    except (TlvError, UnicodeDecodeError) as exc:
        raise ValueError(f"DG1: {exc}") from exc
