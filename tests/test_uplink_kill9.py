"""kill -9 the uploading kiosk at random points, 20 times: every packet arrives exactly once."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

import pytest

from tests.uplink_world import close, make_kiosk

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(240)
async def test_kill_minus_nine_during_upload(tmp_path: Path) -> None:
    world = await make_kiosk(tmp_path)
    try:
        ids = world.queue(8, size=600_000)
        world.outbox.close()  # the child process owns the outbox from now on
        rng = random.Random(20261123)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [
            sys.executable,
            str(ROOT / "tests" / "kiosk_uplink_proc.py"),
            str(tmp_path),
            str(world.port),
        ]
        kills = 0
        for _ in range(20):
            child = await asyncio.create_subprocess_exec(*command, env=env)
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            if child.returncode is None:
                child.send_signal(signal.SIGKILL)
                kills += 1
            await child.wait()
        child = await asyncio.create_subprocess_exec(*command, env=env)
        assert await asyncio.wait_for(child.wait(), timeout=120) == 0
        delivered = world.delivered()
        assert sorted(delivered) == sorted(ids)  # all there, none twice (primary key)
        assert kills > 0
        cases = [c for _, c in world.state.store.all_packets_with_cases()]
        assert len(cases) == len(set(cases))
        from appliance.outbox import Outbox

        world.outbox = Outbox(tmp_path / "kiosk" / "outbox", quota_bytes=1 << 30)
        assert world.outbox.status().depth == 0
        assert all(world.outbox.state_of(i) == "purged" for i in ids)
    finally:
        await close(world)
