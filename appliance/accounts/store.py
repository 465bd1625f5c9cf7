"""Operator accounts on the kiosk: roles, argon2id-hashed secrets and lockout.

Accounts live in a small SQLite database in the state directory so that they
work offline and survive a reboot, and so does a lockout: rebooting the kiosk
does not give an attacker fresh attempts. Passwords and PINs are hashed with
argon2id (RFC 9106 low-memory profile: 64 MiB, 3 passes), rehashed on login
when the parameters change. An unknown user name costs the same hash as a
known one, so timing does not reveal which accounts exist.
"""

from __future__ import annotations

import enum
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher, Type, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

logger = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
MIN_PASSWORD_LENGTH = 8
PIN_PATTERN = re.compile(r"^[0-9]{6,12}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    username     TEXT PRIMARY KEY,
    role         TEXT NOT NULL,
    display_name TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    pin_hash     TEXT,
    failures     INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0,
    disabled     INTEGER NOT NULL DEFAULT 0,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);
"""


class Role(enum.StrEnum):
    """What an account may do: enrol, confirm exceptions, or maintain the kiosk."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    TECHNICIAN = "technician"


@dataclass(frozen=True)
class Account:
    """An account as the UI sees it (never the hashes)."""

    username: str
    role: Role
    display_name: str
    has_pin: bool
    disabled: bool
    locked: bool = False  # locked out by failed logins, now (a technician may unlock)


class AuthError(Exception):
    """Authentication failed; ``code`` is the operator-facing message key."""

    code = "auth.failed"


class BadCredentials(AuthError):
    code = "auth.bad_credentials"


class LockedOut(AuthError):
    code = "auth.locked_out"

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"account locked for another {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


class WrongRole(AuthError):
    code = "auth.wrong_role"


class AccountError(ValueError):
    """An account cannot be created or changed as asked (message is operator-facing)."""


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def _check_pin(pin: str) -> None:
    if not PIN_PATTERN.fullmatch(pin):
        raise AccountError("a PIN is 6 to 12 digits")


class AccountStore:
    """The kiosk's accounts in ``path`` (SQLite, WAL). Safe to use from worker threads."""

    def __init__(
        self,
        path: Path,
        *,
        max_failures: int = 5,
        lockout_s: float = 300.0,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        path.chmod(0o600)
        self._max_failures = max_failures
        self._lockout_s = lockout_s
        self._hasher = hasher or PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
        if self._hasher.type is not Type.ID:
            raise ValueError("account secrets must be hashed with argon2id")
        self._clock = clock
        self._dummy_hash = self._hasher.hash("not-a-real-secret")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ admin

    def create(
        self,
        username: str,
        role: Role,
        password: str,
        *,
        pin: str | None = None,
        display_name: str | None = None,
    ) -> Account:
        """Add an account; supervisors need a PIN (they confirm exceptions with it)."""
        if not USERNAME_PATTERN.fullmatch(username):
            raise AccountError("a user name is 2-32 lower-case letters, digits, '.', '_' or '-'")
        _check_password(password)
        if pin is not None:
            _check_pin(pin)
        if role is Role.SUPERVISOR and pin is None:
            raise AccountError("a supervisor account needs a PIN")
        secret_hash = self._hasher.hash(password)
        pin_hash = self._hasher.hash(pin) if pin is not None else None
        now = self._clock()
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO accounts (username, role, display_name, secret_hash, pin_hash,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        username,
                        role.value,
                        display_name or username,
                        secret_hash,
                        pin_hash,
                        now,
                        now,
                    ),
                )
            except sqlite3.IntegrityError:
                raise AccountError(f"account {username!r} exists") from None
        logger.info("account created with role %s", role.value)
        return self.get(username)

    def set_password(self, username: str, password: str) -> None:
        _check_password(password)
        self._update(username, "secret_hash", self._hasher.hash(password))

    def set_pin(self, username: str, pin: str) -> None:
        _check_pin(pin)
        self._update(username, "pin_hash", self._hasher.hash(pin))

    def set_disabled(self, username: str, disabled: bool) -> None:
        self._update(username, "disabled", int(disabled))

    def unlock(self, username: str) -> None:
        """Technician action: clear a lockout."""
        with self._lock:
            self._db.execute(
                "UPDATE accounts SET failures = 0, locked_until = 0 WHERE username = ?",
                (username,),
            )

    def get(self, username: str) -> Account:
        with self._lock:
            row = self._db.execute(
                "SELECT username, role, display_name, pin_hash IS NOT NULL, disabled,"
                " locked_until FROM accounts WHERE username = ?",
                (username,),
            ).fetchone()
        if row is None:
            raise AccountError(f"no account {username!r}")
        return _account(row, self._clock())

    def accounts(self) -> list[Account]:
        with self._lock:
            rows = self._db.execute(
                "SELECT username, role, display_name, pin_hash IS NOT NULL, disabled,"
                " locked_until FROM accounts ORDER BY username"
            ).fetchall()
        now = self._clock()
        return [_account(row, now) for row in rows]

    def count(self, role: Role | None = None) -> int:
        with self._lock:
            if role is None:
                row = self._db.execute("SELECT COUNT(*) FROM accounts").fetchone()
            else:
                row = self._db.execute(
                    "SELECT COUNT(*) FROM accounts WHERE role = ?", (role.value,)
                ).fetchone()
        return int(row[0])

    # -------------------------------------------------------- authentication

    def authenticate(self, username: str, password: str) -> Account:
        """Check a password (blocking, ~0.1-0.2 s of argon2id: run it in a worker thread)."""
        return self._verify(username, password, "secret_hash")

    def verify_pin(self, username: str, pin: str, *, role: Role | None = None) -> Account:
        """Check a PIN, e.g. a supervisor confirming a missing-finger exception."""
        account = self._verify(username, pin, "pin_hash")
        if role is not None and account.role is not role:
            raise WrongRole(f"{role.value} role needed")
        return account

    def authenticate_any(self, username: str, secret: str) -> Account:
        """Password or PIN (the idle-lock screen accepts either)."""
        if PIN_PATTERN.fullmatch(secret):
            try:
                return self._verify(username, secret, "pin_hash", count_failure=False)
            except BadCredentials:
                pass
        return self._verify(username, secret, "secret_hash")

    def _verify(
        self, username: str, secret: str, column: str, *, count_failure: bool = True
    ) -> Account:
        """Reserve an attempt, check the secret, then settle the reservation.

        The reservation (``failures + 1``) is taken in one SQLite transaction
        before the argon2 check, so parallel attempts can never run more than
        ``max_failures`` checks between two lockouts.
        """
        now = self._clock()
        row = self._reserve(username, column, now)
        if row is None:
            self._burn(secret)
            raise BadCredentials("unknown user or no such secret")
        stored, disabled = row
        if disabled:
            self._settle(username, now, ok=False, count_failure=False)
            self._burn(secret)
            raise BadCredentials("account disabled")
        try:
            self._hasher.verify(stored, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            self._settle(username, now, ok=False, count_failure=count_failure)
            raise BadCredentials("wrong secret") from None
        self._settle(username, now, ok=True, count_failure=count_failure)
        if self._hasher.check_needs_rehash(stored):
            self._update(username, column, self._hasher.hash(secret))
        return self.get(username)

    def _reserve(self, username: str, column: str, now: float) -> tuple[str, int] | None:
        """Count this attempt before it runs; refuse it when the budget is spent."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    f"SELECT {column}, failures, locked_until, disabled FROM accounts"  # noqa: S608
                    " WHERE username = ?",
                    (username,),
                ).fetchone()
                if row is None or row[0] is None:
                    self._db.execute("COMMIT")
                    return None
                stored, failures, locked_until, disabled = row
                if locked_until > now:
                    self._db.execute("COMMIT")
                    raise LockedOut(locked_until - now)
                if failures >= self._max_failures:  # the budget is taken by attempts in flight
                    self._db.execute(
                        "UPDATE accounts SET failures = 0, locked_until = ? WHERE username = ?",
                        (now + self._lockout_s, username),
                    )
                    self._db.execute("COMMIT")
                    logger.warning("an account was locked out after %d attempts", failures)
                    raise LockedOut(self._lockout_s)
                self._db.execute(
                    "UPDATE accounts SET failures = failures + 1 WHERE username = ?", (username,)
                )
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self._db.execute("ROLLBACK")
                raise
        return str(stored), int(disabled)

    def _settle(self, username: str, now: float, *, ok: bool, count_failure: bool) -> None:
        with self._lock:
            if ok:
                self._db.execute(
                    "UPDATE accounts SET failures = 0, locked_until = 0 WHERE username = ?",
                    (username,),
                )
                return
            if not count_failure:  # give the reserved attempt back
                self._db.execute(
                    "UPDATE accounts SET failures = MAX(failures - 1, 0) WHERE username = ?",
                    (username,),
                )
                return
            cursor = self._db.execute(
                "UPDATE accounts SET failures = 0, locked_until = ? "
                "WHERE username = ? AND failures >= ? AND locked_until <= ?",
                (now + self._lockout_s, username, self._max_failures, now),
            )
            if cursor.rowcount:
                logger.warning("an account was locked out after failed attempts")

    def _burn(self, secret: str) -> None:
        """Spend the same time as a real verification."""
        try:
            self._hasher.verify(self._dummy_hash, secret)
        except VerificationError:
            pass

    def _update(self, username: str, column: str, value: object) -> None:
        with self._lock:
            cursor = self._db.execute(
                f"UPDATE accounts SET {column} = ?, updated_at = ? WHERE username = ?",  # noqa: S608
                (value, self._clock(), username),
            )
        if cursor.rowcount == 0:
            raise AccountError(f"no account {username!r}")


def _account(row: Any, now: float) -> Account:
    """An :class:`Account` from (username, role, display_name, has_pin, disabled, locked_until)."""
    return Account(row[0], Role(row[1]), row[2], bool(row[3]), bool(row[4]), row[5] > now)
