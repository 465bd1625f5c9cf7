"""Canonical JSON: RFC 8785, the JSON Canonicalization Scheme (JCS).

Headers, manifests and receipt payloads are RFC 8785 documents: keys sorted
by UTF-16 code units, no insignificant whitespace, ECMAScript number form
(integers within ±(2^53 - 1); floats in their shortest round-trip form),
minimal string escapes, UTF-8. The ``rfc8785`` package implements it; its
output is checked against the RFC's own examples in
``tests/test_canonical_json.py``.

Signatures and the HPKE info cover the exact bytes that travel in the packet,
so a verifier never re-serialises; canonical form makes packets reproducible
by a second implementation and lets a reader refuse a non-canonical header.
"""

from __future__ import annotations

from typing import Any

import rfc8785


class CanonicalJsonError(ValueError):
    """The value has no RFC 8785 form (NaN, infinity, a too-large integer, a non-str key)."""


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as RFC 8785 canonical JSON (UTF-8 bytes)."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalJsonError(str(exc)) from None
