"""A labelled set of photographed SPECIMEN documents for tests and the bench.

Categories and what a correct reader reports for each:

- ``readable``: valid documents, photographed with realistic defects; the
  reading must equal the printed MRZ, verdict ``valid``;
- ``expired``: the same with a past expiry date, verdict ``expired``;
- ``tampered``: one character of a protected field changed, check digit left
  alone; any verdict but ``valid`` (a correct reading gives ``check_digit``);
- ``unreadable``: heavy blur, darkness, or the MRZ out of the frame; any
  verdict but ``valid`` (a careful reader says ``unreadable``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from appliance.documents.mrz_parse import geometry_of
from appliance.documents.specimen_data import random_identity, tamper, write_mrz
from appliance.documents.specimen_photo import (
    PhotoConditions,
    photograph,
    random_conditions,
    render_document,
)
from drivers.interfaces import ImageU8

KINDS = (
    "TD1",
    "TD1",
    "TD3",
    "TD3",
    "TD2",
    "MRV-A",
    "MRV-B",
)  # residence permits and passports first
DEFAULT_COUNTS = {"readable": 60, "expired": 8, "tampered": 12, "unreadable": 10}


@dataclass(frozen=True, eq=False)
class SpecimenCase:
    name: str
    category: str
    kind: str
    lines: tuple[str, ...]  # what is printed
    conditions: PhotoConditions
    image: ImageU8


def generate(
    seed: int = 18, counts: dict[str, int] | None = None, today: date | None = None
) -> Iterator[SpecimenCase]:
    """Cases in a fixed order; the same seed gives the same images."""
    today = today or date.today()
    counts = counts or DEFAULT_COUNTS
    rng = random.Random(seed)
    index = 0
    for category in ("readable", "expired", "tampered", "unreadable"):
        for _ in range(counts.get(category, 0)):
            kind = KINDS[index % len(KINDS)]
            identity = random_identity(rng, kind, today, expired=category == "expired")
            lines = write_mrz(identity)
            if category == "tampered":
                lines, _field = tamper(lines, rng)
            difficulty = "unreadable" if category == "unreadable" else "readable"
            conditions = random_conditions(rng, difficulty)
            image_seed = rng.randrange(1 << 30)
            doc = render_document(identity, lines, image_seed)
            image = photograph(doc, geometry_of(kind), len(lines), conditions, image_seed)
            yield SpecimenCase(
                f"{index:03d}-{category}-{kind}", category, kind, lines, conditions, image
            )
            index += 1
