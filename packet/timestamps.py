"""The one timestamp format of packets and receipts (docs/packet-format.md, section 2).

RFC 3339, UTC, millisecond precision, upper-case ``T`` and ``Z``:
``2026-11-23T10:00:00.000Z`` (exactly 24 characters).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


class TimestampFormatError(ValueError):
    """Not RFC 3339 UTC with milliseconds."""


def format_timestamp(moment: datetime) -> str:
    """``moment`` (timezone-aware) as the packet timestamp format."""
    if moment.tzinfo is None:
        raise TimestampFormatError("a timestamp needs a timezone")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> str:
    return format_timestamp(datetime.now(UTC))


def parse_timestamp(text: object) -> datetime:
    """The moment a packet timestamp names; raise :class:`TimestampFormatError`."""
    if not isinstance(text, str) or not _FORMAT.match(text):
        raise TimestampFormatError(f"{text!r} is not RFC 3339 UTC with milliseconds")
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError:
        raise TimestampFormatError(f"{text!r} is not a valid date and time") from None


def normalise_timestamp(text: str) -> str:
    """Any RFC 3339 / ISO 8601 string with an offset, as the packet timestamp format."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TimestampFormatError(f"{text!r} is not RFC 3339") from None
    return format_timestamp(moment)
