"""Turn a 4-4-2 result into packet items: WSQ per finger and slap, ANSI/NIST, ISO 19794-4."""

from __future__ import annotations

import uuid
from typing import Any

from appliance.finger.flow import TenPrintResult
from appliance.finger.records import ansi_nist_transaction, encode_wsq, iso19794_4_record


def tenprint_items(
    result: TenPrintResult, originating_agency: str = "AIMA"
) -> list[tuple[str, str, str, bytes, dict[str, Any]]]:
    """(name, item type, media type, bytes, quality) for every record of the ten-print."""
    captures = result.captures()
    items: list[tuple[str, str, str, bytes, dict[str, Any]]] = []
    for capture in captures:
        slap = bool(capture.segments)
        name = f"{'slap' if slap else 'finger'}-{int(capture.position):02d}.wsq"
        quality = {} if capture.nfiq2 is None else {"nfiq2": capture.nfiq2}
        items.append(
            (
                name,
                "slap" if slap else "finger",
                "image/x-wsq",
                encode_wsq(capture.pixels),
                {"position": int(capture.position), **quality},
            )
        )
    transaction = ansi_nist_transaction(
        captures,
        result.missing,
        transaction_control=uuid.uuid4().hex[:20],
        originating_agency=originating_agency,
    )
    items.append(("tenprint.an2", "record", "application/x-ansi-nist", transaction, {}))
    items.append(
        (
            "fingers.iso19794-4",
            "record",
            "application/x-iso19794-4",
            iso19794_4_record(captures),
            {},
        )
    )
    return items
