"""Operator accounts: argon2id hashes, roles, lockout that survives a restart, sessions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles

from appliance.accounts import (
    AccountError,
    AccountStore,
    BadCredentials,
    LockedOut,
    LoginSessions,
    Role,
    WrongRole,
)

pytestmark = pytest.mark.timeout(60)

FAST = PasswordHasher.from_parameters(profiles.CHEAPEST)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _store(path: Path, clock: Clock | None = None, **kwargs: object) -> AccountStore:
    return AccountStore(path, hasher=FAST, clock=clock or Clock(), **kwargs)  # type: ignore[arg-type]


def test_passwords_are_argon2id_hashed_never_stored(tmp_path: Path) -> None:
    store = _store(tmp_path / "a.sqlite")
    store.create("ana", Role.OPERATOR, "correct horse")
    store.create("sup", Role.SUPERVISOR, "battery staple", pin="246810")
    store.close()
    raw = (tmp_path / "a.sqlite").read_bytes()
    assert b"correct horse" not in raw and b"246810" not in raw
    db = sqlite3.connect(tmp_path / "a.sqlite")
    hashes = [h for row in db.execute("SELECT secret_hash, pin_hash FROM accounts") for h in row]
    assert all(h is None or h.startswith("$argon2id$") for h in hashes)
    assert oct((tmp_path / "a.sqlite").stat().st_mode & 0o777) == "0o600"


def test_default_hasher_is_memory_hard(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "a.sqlite")
    account = store.create("tech", Role.TECHNICIAN, "long enough")
    assert account.role is Role.TECHNICIAN
    db = sqlite3.connect(tmp_path / "a.sqlite")
    (stored,) = db.execute("SELECT secret_hash FROM accounts").fetchone()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert store.authenticate("tech", "long enough").username == "tech"


def test_authenticate_and_roles(tmp_path: Path) -> None:
    store = _store(tmp_path / "a.sqlite")
    store.create("ana", Role.OPERATOR, "correct horse", display_name="Ana S.")
    store.create("sup", Role.SUPERVISOR, "battery staple", pin="246810")
    assert store.authenticate("ana", "correct horse").display_name == "Ana S."
    with pytest.raises(BadCredentials):
        store.authenticate("ana", "wrong password")
    with pytest.raises(BadCredentials):
        store.authenticate("nobody", "correct horse")
    assert store.verify_pin("sup", "246810", role=Role.SUPERVISOR).role is Role.SUPERVISOR
    with pytest.raises(WrongRole):
        store.verify_pin("sup", "246810", role=Role.TECHNICIAN)
    with pytest.raises(BadCredentials):
        store.verify_pin("ana", "246810")  # no PIN set
    assert store.authenticate_any("sup", "246810").username == "sup"
    assert store.authenticate_any("sup", "battery staple").username == "sup"


@pytest.mark.parametrize(
    ("username", "role", "password", "pin"),
    [
        ("Ana", Role.OPERATOR, "correct horse", None),  # upper case
        ("a", Role.OPERATOR, "correct horse", None),  # too short
        ("ana", Role.OPERATOR, "short", None),
        ("sup", Role.SUPERVISOR, "battery staple", None),  # supervisors need a PIN
        ("sup", Role.SUPERVISOR, "battery staple", "1234"),  # PIN too short
        ("sup", Role.SUPERVISOR, "battery staple", "12ab56"),
    ],
)
def test_bad_accounts_are_refused(
    tmp_path: Path, username: str, role: Role, password: str, pin: str | None
) -> None:
    with pytest.raises(AccountError):
        _store(tmp_path / "a.sqlite").create(username, role, password, pin=pin)


def test_duplicate_account_refused(tmp_path: Path) -> None:
    store = _store(tmp_path / "a.sqlite")
    store.create("ana", Role.OPERATOR, "correct horse")
    with pytest.raises(AccountError, match="exists"):
        store.create("ana", Role.TECHNICIAN, "correct horse")


def test_lockout_after_failures_survives_restart_and_expires(tmp_path: Path) -> None:
    clock = Clock()
    store = _store(tmp_path / "a.sqlite", clock, max_failures=3, lockout_s=60)
    store.create("ana", Role.OPERATOR, "correct horse")
    for _ in range(3):
        with pytest.raises(BadCredentials):
            store.authenticate("ana", "guess")
    with pytest.raises(LockedOut) as locked:
        store.authenticate("ana", "correct horse")  # even the right password
    assert locked.value.retry_after_s == pytest.approx(60)
    store.close()
    reopened = _store(tmp_path / "a.sqlite", clock, max_failures=3, lockout_s=60)
    with pytest.raises(LockedOut):
        reopened.authenticate("ana", "correct horse")
    clock.now += 61
    assert reopened.authenticate("ana", "correct horse").username == "ana"


def test_success_resets_the_failure_count(tmp_path: Path) -> None:
    store = _store(tmp_path / "a.sqlite", max_failures=3)
    store.create("ana", Role.OPERATOR, "correct horse")
    for _ in range(5):
        with pytest.raises(BadCredentials):
            store.authenticate("ana", "guess")
        with pytest.raises(BadCredentials):
            store.authenticate("ana", "guess")
        store.authenticate("ana", "correct horse")


def test_wrong_pins_count_towards_lockout(tmp_path: Path) -> None:
    store = _store(tmp_path / "a.sqlite", max_failures=2)
    store.create("sup", Role.SUPERVISOR, "battery staple", pin="246810")
    for _ in range(2):
        with pytest.raises(BadCredentials):
            store.verify_pin("sup", "000000")
    with pytest.raises(LockedOut):
        store.verify_pin("sup", "246810")
    store.unlock("sup")
    assert store.verify_pin("sup", "246810").username == "sup"


def test_disabled_account_cannot_log_in(tmp_path: Path) -> None:
    store = _store(tmp_path / "a.sqlite")
    store.create("ana", Role.OPERATOR, "correct horse")
    store.set_disabled("ana", True)
    with pytest.raises(BadCredentials):
        store.authenticate("ana", "correct horse")
    store.set_disabled("ana", False)
    store.set_password("ana", "new password!")
    assert store.authenticate("ana", "new password!").username == "ana"
    assert [a.username for a in store.accounts()] == ["ana"]
    assert store.count(Role.TECHNICIAN) == 0


def test_sessions_idle_lock_and_expiry(tmp_path: Path) -> None:
    store = _store(tmp_path / "a.sqlite")
    account = store.create("ana", Role.OPERATOR, "correct horse")
    clock = Clock()
    sessions = LoginSessions(idle_lock_s=10, max_age_s=100, clock=clock)
    token, session = sessions.create(account)
    assert sessions.lookup(token) is session
    assert sessions.lookup("forged") is None
    assert session.csrf_ok(session.csrf_token) and not session.csrf_ok("x")
    assert not session.csrf_ok(None)
    clock.now += 9
    sessions.touch(session)
    clock.now += 9
    assert sessions.lookup(token) is not None and not session.locked
    clock.now += 11
    assert sessions.lookup(token) is session and session.locked
    sessions.touch(session)  # a locked session is not revived by traffic
    assert sessions.lookup(token) is session and session.locked
    sessions.unlock(session)
    assert not session.locked
    clock.now += 100
    assert sessions.lookup(token) is None
    assert len(sessions) == 0


def test_sessions_are_bounded(tmp_path: Path) -> None:
    store = _store(tmp_path / "a.sqlite")
    account = store.create("ana", Role.OPERATOR, "correct horse")
    clock = Clock()
    sessions = LoginSessions(idle_lock_s=10, max_age_s=100, max_sessions=2, clock=clock)
    first, _ = sessions.create(account)
    clock.now += 1
    sessions.create(account)
    clock.now += 1
    sessions.create(account)
    assert len(sessions) == 2
    assert sessions.lookup(first) is None
