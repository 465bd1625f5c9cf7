"""In-memory capture sessions: what one applicant's enrolment has captured so far.

Captures live only in memory until the enrolment is sealed; nothing here ever
touches the disk. Sessions expire after ``ttl_s`` of inactivity and are
discarded (and zeroed) on cancel, so an abandoned kiosk does not keep
biometrics around.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Capture:
    """One captured item, encoded, held in memory."""

    capture_id: str
    item_type: str  # face | finger | slap | document
    media_type: str  # image/jpeg, image/png, ...
    data: bytearray
    metadata: dict[str, Any]
    captured_at: float

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def describe(self) -> dict[str, Any]:
        return {
            "capture_id": self.capture_id,
            "type": self.item_type,
            "media_type": self.media_type,
            "bytes": len(self.data),
            "sha256": self.sha256,
            "captured_at": self.captured_at,
            **self.metadata,
        }

    def wipe(self) -> None:
        self.data[:] = bytes(len(self.data))
        self.data.clear()


@dataclass
class CaptureSession:
    session_id: str
    created_at: float
    touched_at: float
    captures: dict[str, Capture] = field(default_factory=dict)

    def add(self, item_type: str, media_type: str, data: bytes, **metadata: Any) -> Capture:
        capture = Capture(
            capture_id=uuid.uuid4().hex,
            item_type=item_type,
            media_type=media_type,
            data=bytearray(data),
            metadata=metadata,
            captured_at=time.time(),
        )
        self.captures[capture.capture_id] = capture
        self.touched_at = time.monotonic()
        return capture

    def wipe(self) -> None:
        for capture in self.captures.values():
            capture.wipe()
        self.captures.clear()


class SessionNotFound(KeyError):
    """No live session has that id (never existed, cancelled or expired)."""


class CaptureSessions:
    """The live sessions of this kiosk, bounded in number and lifetime."""

    def __init__(self, *, ttl_s: float = 1800.0, max_sessions: int = 8) -> None:
        self._ttl = ttl_s
        self._max = max_sessions
        self._sessions: dict[str, CaptureSession] = {}

    def create(self) -> CaptureSession:
        self.expire()
        if len(self._sessions) >= self._max:
            oldest = min(self._sessions.values(), key=lambda s: s.touched_at)
            self.discard(oldest.session_id)
        now = time.monotonic()
        session = CaptureSession(uuid.uuid4().hex, now, now)
        self._sessions[session.session_id] = session
        return session

    def get(self, session_id: str) -> CaptureSession:
        self.expire()
        try:
            session = self._sessions[session_id]
        except KeyError:
            raise SessionNotFound(session_id) from None
        session.touched_at = time.monotonic()
        return session

    def discard(self, session_id: str) -> bool:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        session.wipe()
        return True

    def expire(self) -> None:
        now = time.monotonic()
        for session_id in [
            s.session_id for s in self._sessions.values() if now - s.touched_at > self._ttl
        ]:
            self.discard(session_id)

    def clear(self) -> None:
        for session_id in list(self._sessions):
            self.discard(session_id)

    def __len__(self) -> int:
        return len(self._sessions)
