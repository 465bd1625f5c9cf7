"""sd_notify and the watchdog against a fake NOTIFY_SOCKET (a real AF_UNIX datagram socket)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.sdnotify import Notifier, watchdog_interval_s
from appliance.watchdog import Watchdog


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(2)
    yield server, path
    server.close()


def test_ready_status_watchdog_messages(notify_socket: tuple[socket.socket, str]) -> None:
    server, path = notify_socket
    notifier = Notifier(path)
    assert notifier.ready("serving on 127.0.0.1:8080")
    assert server.recv(512) == b"READY=1\nSTATUS=serving on 127.0.0.1:8080"
    assert notifier.watchdog()
    assert server.recv(512) == b"WATCHDOG=1"
    notifier.close()


def test_without_systemd_everything_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert not Notifier().ready("x")
    assert watchdog_interval_s() is None
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    assert watchdog_interval_s() == 15.0


def test_watchdog_is_fed_only_while_every_heartbeat_is_fresh(
    notify_socket: tuple[socket.socket, str],
) -> None:
    server, path = notify_socket
    watchdog = Watchdog(Notifier(path), interval_s=1)
    watchdog.register("uplink", max_silence_s=0.05)
    watchdog.register("devices", max_silence_s=10)
    assert watchdog.check()
    assert server.recv(512) == b"WATCHDOG=1"
    time.sleep(0.1)
    assert watchdog.stale() == ["uplink"]
    assert not watchdog.check()
    assert server.recv(512) == b"STATUS=stalled: uplink"
    watchdog.beat("uplink")
    assert watchdog.check()
    assert server.recv(512) == b"WATCHDOG=1"
