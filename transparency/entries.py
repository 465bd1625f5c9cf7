"""One entry of a kiosk's record of operations: the bytes that become a Merkle leaf.

An entry is an RFC 8785 canonical JSON object with exactly these members::

    {"event": "consent.given", "fields": {...}, "index": 41,
     "time": "2026-11-23T10:00:00.000Z", "v": 1}

``index`` is the entry's position in the log (0-based; the leaf index), so an
entry cannot be moved; ``time`` is the kiosk's clock (RFC 3339 UTC, ms);
``event`` a dotted name from the kiosk's catalogue (``appliance/audit/events.py``);
``fields`` holds only strings, integers, booleans, null and flat lists of them
(no biometric data, case references only as keyed hashes). The leaf hash is
``SHA-256(0x00 || entry bytes)`` (RFC 9162 2.1.1).

:func:`parse_entry` checks size and depth before parsing and refuses anything
that is not exactly the canonical encoding of such an object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from packet.boundedjson import JsonRejected, loads
from packet.canonical import CanonicalJsonError, canonical_json
from packet.timestamps import TimestampFormatError, parse_timestamp

ENTRY_VERSION = 1
#: A day's appointment list (``appointments.listed``) carries one 64-hex digest per
#: appointment: the limits leave room for a thousand.
MAX_ENTRY_BYTES = 72 << 10
MAX_ENTRY_DEPTH = 3
MAX_FIELDS = 32
MAX_LIST = 1024
_EVENT = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_KEYS = frozenset({"event", "fields", "index", "time", "v"})

Scalar = str | int | bool | None


class EntryError(ValueError):
    """The bytes are not a well-formed entry."""


@dataclass(frozen=True)
class Entry:
    index: int
    time: str
    event: str
    fields: dict[str, Any]

    def to_bytes(self) -> bytes:
        check_fields(self.fields)
        if not _EVENT.match(self.event):
            raise EntryError(f"{self.event!r} is not an event name")
        data = canonical_json(
            {
                "event": self.event,
                "fields": self.fields,
                "index": self.index,
                "time": self.time,
                "v": ENTRY_VERSION,
            }
        )
        if len(data) > MAX_ENTRY_BYTES:
            raise EntryError(f"entry of {len(data)} bytes exceeds {MAX_ENTRY_BYTES}")
        return data


def check_fields(fields: dict[str, Any]) -> None:
    """Names are short snake_case; values scalars or flat lists of scalars."""
    if len(fields) > MAX_FIELDS:
        raise EntryError(f"an entry holds at most {MAX_FIELDS} fields")
    for name, value in fields.items():
        if not isinstance(name, str) or not _FIELD.match(name):
            raise EntryError(f"{name!r} is not a field name")
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and len(value) > MAX_LIST:
            raise EntryError(f"field {name} lists more than {MAX_LIST} values")
        for item in values:
            if isinstance(item, float) or not isinstance(item, str | int | bool | type(None)):
                raise EntryError(f"field {name} holds a {type(item).__name__}")


def parse_entry(data: bytes, *, index: int | None = None) -> Entry:
    """The entry ``data`` encodes (bounded, canonical), optionally at ``index``."""
    try:
        value = loads(data, max_bytes=MAX_ENTRY_BYTES, max_depth=MAX_ENTRY_DEPTH)
    except JsonRejected as exc:
        raise EntryError(str(exc)) from None
    if not isinstance(value, dict) or set(value) != _KEYS:
        raise EntryError("an entry is an object with event, fields, index, time and v")
    if value["v"] != ENTRY_VERSION:
        raise EntryError(f"unsupported entry version {value['v']!r}")
    position, event, fields, stamp = value["index"], value["event"], value["fields"], value["time"]
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        raise EntryError("index is not a non-negative integer")
    if index is not None and position != index:
        raise EntryError(f"entry says index {position}, found at {index}")
    if not isinstance(event, str) or not _EVENT.match(event):
        raise EntryError("event is not a dotted name")
    if not isinstance(fields, dict):
        raise EntryError("fields is not an object")
    try:
        parse_timestamp(stamp)
        check_fields(fields)
        canonical = canonical_json(value)
    except (TimestampFormatError, CanonicalJsonError) as exc:
        raise EntryError(str(exc)) from None
    if canonical != data:
        raise EntryError("the entry is not in canonical form (RFC 8785)")
    return Entry(position, stamp, event, fields)
