"""A reference central receiver as a child process, for the demo and local runs.

The kiosk never imports the central package: it talks to central over the
documented gRPC contract, and here it starts the reference implementation the way
an operator would (``appliance-receiver``, installed beside ``appliance``) and reads
what it holds through ``appliance-receiver report --json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: How long the child may take to print its ready line.
READY_TIMEOUT_S = 60.0
MAX_REPORT_BYTES = 64 << 20


class LocalCentralError(RuntimeError):
    """The reference receiver did not start or answer as documented."""


@dataclass(frozen=True)
class LocalCentral:
    directory: Path
    upload: str
    enrol: str
    ca_pem: bytes

    async def report(self) -> dict[str, Any]:
        """What the receiver holds (``appliance-receiver report --json``)."""
        return await self._admin(["report", "--dir", str(self.directory), "--json"])

    async def seed_cases(self, site_id: str, count: int) -> list[str]:
        """Synthetic open cases for the site (``appliance-receiver cases seed``): references."""
        argv = ["cases", "seed", "--dir", str(self.directory), "--site", site_id]
        seeded = await self._admin([*argv, "--count", str(count), "--json"])
        return [str(row["case_reference"]) for row in seeded["cases"]]

    async def _admin(self, argv: list[str]) -> dict[str, Any]:
        proc = await asyncio.create_subprocess_exec(
            *_receiver_argv(argv),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=MAX_REPORT_BYTES,
        )
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise LocalCentralError(f"receiver {argv[0]} failed: {err.decode(errors='replace')}")
        value: dict[str, Any] = json.loads(out)
        return value


def _receiver_argv(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "central.main", *args]


@contextlib.asynccontextmanager
async def local_central(directory: Path, tokens: Sequence[str]) -> AsyncIterator[LocalCentral]:
    """Start ``appliance-receiver`` on loopback ports of its choosing; stop it on exit."""
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True, mode=0o700)
    argv = ["--dir", str(directory), "--listen", "127.0.0.1:0", "--enrol-listen", "127.0.0.1:0"]
    for token in tokens:
        argv.append(f"--token={token}")  # one argument: a token may begin with "-"
    proc = await asyncio.create_subprocess_exec(
        *_receiver_argv([*argv, "--ready-json", "--log-level", "WARNING"]),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT_S)
        except TimeoutError:
            raise LocalCentralError("the reference receiver did not start in time") from None
        try:
            ready = json.loads(line)
        except ValueError:
            raise LocalCentralError("the reference receiver did not start") from None
        ca_pem = await asyncio.to_thread(Path(ready["ca"]).read_bytes)
        central = LocalCentral(directory, ready["upload"], ready["enrol"], ca_pem)
        yield central
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
