"""Turn captured slaps into packet items: WSQ per finger and slap, ANSI/NIST, ISO 19794-4.

Each slap's images are WSQ-encoded once, as soon as the slap is captured
(:func:`encode_slap`, run while the applicant moves to the next slap); the
records reuse those encodings (:func:`tenprint_items`), so finishing the
fingerprint step only assembles bytes.
"""

from __future__ import annotations

import uuid
from typing import Any

from appliance.finger.flow import SlapResult
from appliance.finger.records import (
    FingerCapture,
    MissingFinger,
    ansi_nist_transaction,
    iso19794_4_record,
)

Item = tuple[str, str, str, bytes, dict[str, Any]]  # name, item type, media type, data, quality


def encode_slap(slap: SlapResult) -> list[FingerCapture]:
    """The slap and its fingers with their WSQ encodings (blocking; ~20 ms per image)."""
    return [capture.encoded() for capture in slap.captures()]


def tenprint_items(
    captures: list[FingerCapture], missing: list[MissingFinger], originating_agency: str = "AIMA"
) -> list[Item]:
    """(name, item type, media type, bytes, quality) for every record of the ten-print."""
    encoded = [capture.encoded() for capture in captures]
    items: list[Item] = []
    for capture in encoded:
        slap = bool(capture.segments)
        name = f"{'slap' if slap else 'finger'}-{int(capture.position):02d}.wsq"
        quality = {} if capture.nfiq2 is None else {"nfiq2": capture.nfiq2}
        items.append(
            (
                name,
                "slap" if slap else "finger",
                "image/x-wsq",
                capture.wsq,
                {"position": int(capture.position), **quality},
            )
        )
    transaction = ansi_nist_transaction(
        encoded,
        missing,
        transaction_control=uuid.uuid4().hex[:20],
        originating_agency=originating_agency,
    )
    items.append(("tenprint.an2", "record", "application/x-ansi-nist", transaction, {}))
    items.append(
        ("fingers.iso19794-4", "record", "application/x-iso19794-4", iso19794_4_record(encoded), {})
    )
    return items
