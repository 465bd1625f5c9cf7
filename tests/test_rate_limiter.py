"""The uplink's token bucket: no start-up burst, exact long-run rate (fake clock)."""

from __future__ import annotations

import pytest

from appliance.uplink import client


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(client.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(client.asyncio, "sleep", fake.sleep)
    return fake


async def test_no_burst_at_start_and_rate_holds_for_large_chunks(clock: FakeClock) -> None:
    limiter = client._RateLimiter(1 << 20)
    for _ in range(4):
        await limiter.take(256 << 10)
    # 1 MiB at 1 MiB/s takes one second of waiting, nothing sent for free.
    assert sum(clock.sleeps) == pytest.approx(1.0)


async def test_idle_time_buys_at_most_a_tenth_of_a_second(clock: FakeClock) -> None:
    limiter = client._RateLimiter(1 << 20)
    clock.now += 60.0  # a long idle period
    await limiter.take(1 << 20)
    assert sum(clock.sleeps) == pytest.approx(0.9)


async def test_unlimited_never_waits(clock: FakeClock) -> None:
    limiter = client._RateLimiter(None)
    await limiter.take(1 << 30)
    assert clock.sleeps == []
