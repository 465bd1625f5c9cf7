"""An application started and stopped leaves nothing of itself in the process.

Run in a fresh interpreter, so that this application is the first to import the
face engine's libraries (mediapipe keeps the traceback of an optional import, with
every frame of its first importer, in a module global).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import asyncio, gc, json, sys, weakref
from pathlib import Path

import httpx

from appliance.app import Appliance
from tests.fastapi_caches import forget_classified_callables
from tests.test_daemon import _config


async def one(state: Path) -> "weakref.ref[Appliance]":
    app = Appliance(_config(state))
    await app.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.web_port}") as client:
            health = await client.get("/healthz")
            denied = await client.get("/api/workflow")
            assert (health.status_code, denied.status_code) == (200, 401), (health, denied)
    finally:
        await app.stop()
    assert app.face_engine is not None, "the face engine (mediapipe) was not started"
    return weakref.ref(app)


first = asyncio.run(one(Path(sys.argv[1]) / "first"))
second = asyncio.run(one(Path(sys.argv[1]) / "second"))
forget_classified_callables()
gc.collect()
print(json.dumps({"first_alive": first() is not None, "second_alive": second() is not None}))
"""


def test_stopped_applications_are_released(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"first_alive": False, "second_alive": False}, result
