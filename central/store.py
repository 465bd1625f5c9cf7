"""Compatibility name: the embedded store lives in :mod:`central.storage.sqlite_files`."""

from central.storage.sqlite_files import MAX_PACKET_BYTES, ReceiverStore, StoredPacket

__all__ = ["MAX_PACKET_BYTES", "ReceiverStore", "StoredPacket"]
