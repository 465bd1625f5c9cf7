"""Server-side login sessions with an idle lock and a CSRF token each.

The browser holds only an opaque random token in an HttpOnly, SameSite=Strict
cookie; everything else stays here, in memory (a reboot logs everyone out).
A session idle for longer than ``idle_lock_s`` is *locked*: it keeps its
place (the enrolment in progress is not lost) but answers nothing until the
same operator unlocks it with the password or PIN. A session older than
``max_age_s`` ends whatever its activity.

``on_operation(event, fields)`` (the record of operations) hears ``auth.login``,
``auth.logout`` (reason logout | replaced | expired | locked_out), ``auth.lock``
(manual | idle), ``auth.unlock`` and, through :meth:`LoginSessions.refused`,
``auth.login_failed``; it must not raise.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.accounts.store import Account, Role

logger = logging.getLogger(__name__)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class LoginSession:
    """One logged-in operator on this kiosk."""

    key: str  # sha256 of the cookie token: the token itself is not kept
    username: str
    role: Role
    display_name: str
    csrf_token: str
    created_at: float
    last_activity: float
    locked: bool = False

    @property
    def public_id(self) -> str:
        """A short id safe for logs."""
        return self.key[:8]

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented, self.csrf_token)


class LoginSessions:
    """The live sessions, bounded in number; the oldest is ended when full."""

    def __init__(
        self,
        *,
        idle_lock_s: float,
        max_age_s: float,
        max_sessions: int = 16,
        clock: Callable[[], float] = time.monotonic,
        on_operation: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self._on_operation = on_operation
        self.idle_lock_s = idle_lock_s
        self.max_age_s = max_age_s
        self._max = max_sessions
        self._clock = clock
        self._sessions: dict[str, LoginSession] = {}

    def create(self, account: Account) -> tuple[str, LoginSession]:
        """A new session for ``account``; returns the cookie token and the session."""
        self._expire()
        while len(self._sessions) >= self._max:
            oldest = min(self._sessions.values(), key=lambda s: s.last_activity)
            del self._sessions[oldest.key]
            self._report("auth.logout", user=oldest.username, reason="replaced")
        token = secrets.token_urlsafe(32)
        now = self._clock()
        session = LoginSession(
            key=_digest(token),
            username=account.username,
            role=account.role,
            display_name=account.display_name,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_activity=now,
        )
        self._sessions[session.key] = session
        logger.info("login session %s started (%s)", session.public_id, account.role.value)
        self._report("auth.login", user=account.username, role=account.role.value)
        return token, session

    def lookup(self, token: str | None) -> LoginSession | None:
        """The session for a cookie token, with its idle lock brought up to date."""
        if not token:
            return None
        session = self._sessions.get(_digest(token))
        if session is None:
            return None
        now = self._clock()
        if now - session.created_at > self.max_age_s:
            del self._sessions[session.key]
            self._report("auth.logout", user=session.username, reason="expired")
            return None
        if not session.locked and now - session.last_activity > self.idle_lock_s:
            session.locked = True
            logger.info("login session %s locked after inactivity", session.public_id)
            self._report("auth.lock", user=session.username, reason="idle")
        return session

    def touch(self, session: LoginSession) -> None:
        if not session.locked:
            session.last_activity = self._clock()

    def lock(self, session: LoginSession) -> None:
        if not session.locked:
            self._report("auth.lock", user=session.username, reason="manual")
        session.locked = True

    def unlock(self, session: LoginSession) -> None:
        session.locked = False
        session.last_activity = self._clock()
        self._report("auth.unlock", user=session.username)

    def end(self, session: LoginSession, reason: str = "logout") -> None:
        if self._sessions.pop(session.key, None) is not None:
            self._report("auth.logout", user=session.username, reason=reason)
        logger.info("login session %s ended", session.public_id)

    def refused(self, user: str | None, reason: str) -> None:
        """A login or unlock was refused (``user``: the account, None when unknown)."""
        self._report("auth.login_failed", user=user, reason=reason)

    def end_all(self) -> None:
        self._sessions.clear()

    def _expire(self) -> None:
        now = self._clock()
        for key in [k for k, s in self._sessions.items() if now - s.created_at > self.max_age_s]:
            expired = self._sessions.pop(key)
            self._report("auth.logout", user=expired.username, reason="expired")

    def _report(self, event: str, **fields: Any) -> None:
        if self._on_operation is not None:
            self._on_operation(event, fields)

    def __len__(self) -> int:
        return len(self._sessions)
