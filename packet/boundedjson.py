"""JSON from untrusted bytes: size and nesting depth are checked before parsing."""

from __future__ import annotations

import json
import re
from typing import Any

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")


class JsonRejected(ValueError):
    """The document is too large, too deep or not JSON."""


def nesting_depth(data: bytes) -> int:
    """Deepest bracket nesting outside strings (a cheap pre-check, no parse)."""
    brackets = _STRINGS.sub(b"", data).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for char in brackets:
        if char in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def loads(data: bytes, *, max_bytes: int, max_depth: int) -> Any:
    """Parse ``data`` after checking its size and depth; raise :class:`JsonRejected`."""
    if len(data) > max_bytes:
        raise JsonRejected(f"JSON document of {len(data)} bytes exceeds {max_bytes}")
    if nesting_depth(data) > max_depth:
        raise JsonRejected(f"JSON document nests deeper than {max_depth}")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise JsonRejected(f"not valid JSON: {exc}") from None
