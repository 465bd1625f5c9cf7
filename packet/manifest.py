"""The signed manifest: who captured what, where, and the hash of every item."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from packet.canonical import canonical_json

ITEM_TYPES = frozenset({"face", "finger", "slap", "document", "record"})


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b
    return str(uuid.UUID(int=value))


@dataclass(frozen=True)
class ItemEntry:
    """One item as the manifest records it."""

    name: str
    type: str
    format: str
    size: int
    sha256: str
    quality: dict[str, Any] = field(default_factory=dict)
    captured_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "captured_at": self.captured_at,
            "format": self.format,
            "name": self.name,
            "quality": self.quality,
            "sha256": self.sha256,
            "size": self.size,
            "type": self.type,
        }


@dataclass(frozen=True)
class EnrolmentMeta:
    """Who and where: filled by the kiosk for every packet."""

    site_id: str
    operator_id: str
    case_reference: str
    software_version: str
    started_at: str  # RFC 3339 UTC


@dataclass(frozen=True)
class Manifest:
    packet_id: str
    device_id: str
    key_id: str
    device_cert_sha256: str
    device_certificate_chain_b64: tuple[str, ...]
    meta: EnrolmentMeta
    sealed_at: str
    items: tuple[ItemEntry, ...]

    def to_bytes(self) -> bytes:
        return canonical_json(
            {
                "case_reference": self.meta.case_reference,
                "device_cert_sha256": self.device_cert_sha256,
                "device_certificate_chain_b64": list(self.device_certificate_chain_b64),
                "device_id": self.device_id,
                "format": 1,
                "items": [item.as_dict() for item in self.items],
                "key_id": self.key_id,
                "operator_id": self.meta.operator_id,
                "packet_id": self.packet_id,
                "sealed_at": self.sealed_at,
                "site_id": self.meta.site_id,
                "software_version": self.meta.software_version,
                "started_at": self.meta.started_at,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            packet_id=data["packet_id"],
            device_id=data["device_id"],
            key_id=data["key_id"],
            device_cert_sha256=data["device_cert_sha256"],
            device_certificate_chain_b64=tuple(data["device_certificate_chain_b64"]),
            meta=EnrolmentMeta(
                site_id=data["site_id"],
                operator_id=data["operator_id"],
                case_reference=data["case_reference"],
                software_version=data["software_version"],
                started_at=data["started_at"],
            ),
            sealed_at=data["sealed_at"],
            items=tuple(
                ItemEntry(
                    name=i["name"],
                    type=i["type"],
                    format=i["format"],
                    size=int(i["size"]),
                    sha256=i["sha256"],
                    quality=dict(i["quality"]),
                    captured_at=i["captured_at"],
                )
                for i in data["items"]
            ),
        )
