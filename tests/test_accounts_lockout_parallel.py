"""The lockout holds under real parallelism: at most N password checks per account."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles

from appliance.accounts import AccountStore, BadCredentials, LockedOut, Role

pytestmark = pytest.mark.timeout(120)

MAX_FAILURES = 5


class CountingHasher(PasswordHasher):
    """A real argon2id hasher (RFC 9106 low-memory profile) that counts verifications."""

    def __init__(self) -> None:
        params = profiles.RFC_9106_LOW_MEMORY
        super().__init__(
            time_cost=params.time_cost,
            memory_cost=params.memory_cost,
            parallelism=params.parallelism,
            hash_len=params.hash_len,
            salt_len=params.salt_len,
            type=params.type,
        )
        self.checks = 0
        self._count = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._count:
            self.checks += 1
        return super().verify(hash, password)


def _attempt(store: AccountStore, password: str) -> str:
    try:
        store.authenticate("ana", password)
    except LockedOut:
        return "locked"
    except BadCredentials:
        return "bad"
    return "ok"


def test_forty_parallel_wrong_logins_get_at_most_five_checks(tmp_path: Path) -> None:
    hasher = CountingHasher()
    store = AccountStore(tmp_path / "a.sqlite", hasher=hasher, max_failures=MAX_FAILURES)
    store.create("ana", Role.OPERATOR, "correct horse battery")
    baseline = hasher.checks  # creating the store hashes a dummy secret
    barrier = threading.Barrier(40)

    def wrong(index: int) -> str:
        barrier.wait()
        return _attempt(store, f"wrong password {index}")

    with ThreadPoolExecutor(40) as pool:
        outcomes = list(pool.map(wrong, range(40)))
    assert hasher.checks - baseline <= MAX_FAILURES
    assert outcomes.count("bad") <= MAX_FAILURES
    assert outcomes.count("locked") >= 40 - MAX_FAILURES
    assert _attempt(store, "correct horse battery") == "locked"  # locked, even when right
    store.close()


def _process_attempts(path: str, count: int, queue: multiprocessing.Queue[list[str]]) -> None:
    store = AccountStore(Path(path), hasher=CountingHasher(), max_failures=MAX_FAILURES)
    queue.put([_attempt(store, f"wrong {i}") for i in range(count)])
    store.close()


def test_parallel_processes_share_one_budget(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    store = AccountStore(path, hasher=CountingHasher(), max_failures=MAX_FAILURES)
    store.create("ana", Role.OPERATOR, "correct horse battery")
    store.close()
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[str]] = context.Queue()
    workers = [
        context.Process(target=_process_attempts, args=(str(path), 5, queue)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    outcomes = [o for _ in workers for o in queue.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=30)
    assert outcomes.count("bad") <= MAX_FAILURES
    assert outcomes.count("locked") >= 20 - MAX_FAILURES


def test_a_right_password_after_wrong_ones_resets_the_budget(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "a.sqlite", hasher=CountingHasher(), max_failures=3)
    store.create("ana", Role.OPERATOR, "correct horse battery")
    for _ in range(2):
        assert _attempt(store, "wrong") == "bad"
    assert _attempt(store, "correct horse battery") == "ok"
    for _ in range(2):
        assert _attempt(store, "wrong") == "bad"
    assert _attempt(store, "correct horse battery") == "ok"
    store.close()
