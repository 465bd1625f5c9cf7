"""Canonical JSON: sorted keys, no insignificant whitespace, UTF-8.

Signatures and the HPKE info cover the exact bytes that travel in the packet,
so a verifier never re-serialises; canonical form just makes packets
reproducible and diffable.
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` with sorted keys and compact separators."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
