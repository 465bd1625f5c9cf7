"""Crash-safe outbox of sealed packets: SQLite (WAL, synchronous=FULL) + atomic blob files."""

from appliance.outbox.store import Outbox, OutboxEntry, OutboxError, OutboxFull, OutboxStatus

__all__ = ["Outbox", "OutboxEntry", "OutboxError", "OutboxFull", "OutboxStatus"]
