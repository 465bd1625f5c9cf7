"""Provisioning, ``identity show`` and ``identity rotate`` against a loopback receiver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.uplink_world import SECRET, close, make_kiosk

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )


@pytest.mark.timeout(120)
async def test_show_and_rotate_keep_the_outbox(tmp_path: Path) -> None:
    world = await make_kiosk(tmp_path)
    try:
        queued = world.queue(2)
        creds = tmp_path / "creds"
        creds.mkdir()
        (creds / "device-key-passphrase").write_bytes(SECRET)
        env = {**os.environ, "CREDENTIALS_DIRECTORY": str(creds)}
        state_dir = str(tmp_path / "kiosk")
        shown = _cli("identity", "show", "--state-dir", state_dir, "--json", env=env)
        assert shown.returncode == 0, shown.stderr
        before = json.loads(shown.stdout)
        assert before["device_id"].startswith("dev-")
        assert before["days_left"] >= 364
        token = "rotate-token"
        world.state.store.add_token(token)
        ca = tmp_path / "ca.pem"
        ca.write_bytes((tmp_path / "central" / "ca" / "ca.pem").read_bytes())
        # run the CLI in a thread-free way: the receiver lives in this event loop
        import asyncio

        rotated = await asyncio.to_thread(
            _cli,
            "identity",
            "rotate",
            "--state-dir",
            state_dir,
            "--central",
            f"127.0.0.1:{world.receiver.enrol_port}",
            "--token",
            token,
            "--site",
            "CLAIM-T",
            "--ca",
            str(ca),
            env=env,
        )
        assert rotated.returncode == 0, rotated.stderr
        after = json.loads(
            _cli("identity", "show", "--state-dir", state_dir, "--json", env=env).stdout
        )
        assert after["device_id"] == before["device_id"]  # same device, new key
        assert after["subject"] == before["subject"]
        new_chain = (tmp_path / "kiosk" / "identity" / "device-chain.pem").read_bytes()
        old_chain = next((tmp_path / "kiosk").glob("identity.old-*")) / "device-chain.pem"
        assert new_chain != old_chain.read_bytes()
        assert all(world.outbox.state_of(p) == "queued" for p in queued)
        # Packets sealed under the old key upload under the new certificate.
        from appliance.identity.store import IdentityFiles, load_identity

        world.identity = load_identity(IdentityFiles(tmp_path / "kiosk" / "identity"), SECRET)
        assert await world.uplink().drain()
        assert sorted(world.delivered()) == sorted(queued)
        missing = _cli("identity", "show", "--state-dir", str(tmp_path / "none"), env=env)
        assert missing.returncode == 2
        assert "appliance provision" in missing.stderr
    finally:
        await close(world)
