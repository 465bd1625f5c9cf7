"""Soak benchmark: does a kiosk run for weeks? RSS and latency over many enrolments.

    python bench/soak.py --enrolments 1000 --json [--sample-every 100] [--warmup 10]

The appliance runs as its own process (``appliance run``), provisioned against a
loopback reference receiver, with simulated devices; the bench drives whole
enrolments through the UI's HTTP API as the touchscreen does (QR scan, consent,
face auto-capture, 4-4-2 slaps, a document, review, submit, receipt, next). After
``--warmup`` enrolments it samples the resident memory (``VmRSS`` from /proc, one
second after the enrolment ended: the daemon trims its heap then) of the daemon and
its child processes (the NFIQ 2 workers; ``rss_mb``, and the daemon's own as
``daemon_rss_mb``) and the mean software time and API p95 of the last window,
every ``--sample-every`` enrolments. Reported: the samples, ``rss_growth_mb``
(last sample minus the first, daemon and workers), ``latency_drift`` (last
window's mean software time over the first's, minus one) and the goals from the
issue (RSS growth ≤ 20 MB and drift ≤ 10 % over 1,000 enrolments). The same
figures for the first window are the in-process baseline the ratio is taken against.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from appliance.accounts import AccountStore  # noqa: E402
from bench.memory import tree_rss_mb  # noqa: E402
from central.cases.setup import case_desk, open_case_store  # noqa: E402
from central.cases.synthetic import synthetic_case  # noqa: E402
from central.dev_engines import free_port  # noqa: E402
from central.server import Receiver, load_or_create_state  # noqa: E402
from tests.e2e.api_driver import ApiDriver, Timings  # noqa: E402
from tests.e2e.world import (  # noqa: E402
    ACCOUNTS,
    SECRET,
    SITE,
    counter_document,
    prepare_kiosk,
)

FINGER_DELAY_S = 0.3
LIFT_DELAY_S = 0.1
AUTO_CAPTURE_S = 5 / 20  # the gate's run of good frames at the file camera's 20 fps
SETTLE_S = 1.0  # before an RSS sample (see the sampling below)


def _tell_why(proc: subprocess.Popen[bytes], daemon_log: Path, lines: int = 40) -> None:
    """On a failed soak, the daemon's exit code and last log lines (no personal data)."""
    tail = daemon_log.read_text(errors="replace").splitlines()[-lines:]
    print(f"soak failed; the daemon's exit code: {proc.poll()}; its last lines:", file=sys.stderr)
    print("\n".join(tail), file=sys.stderr)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else 0.0


async def _seed_cases(desk: Any, references: list[str]) -> None:
    """One synthetic applicant per enrolment, appointments spread over today."""
    zone = ZoneInfo(await desk.store.time_zone(SITE))
    today = dt.datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    spacing = dt.timedelta(hours=14) / max(1, len(references))
    for index, reference in enumerate(references):
        await desk.store.add_case(
            *synthetic_case(reference, SITE, today + dt.timedelta(hours=7) + index * spacing)
        )


async def _wait_ready(base: str, proc: subprocess.Popen[bytes], limit_s: float = 180) -> None:
    deadline = time.monotonic() + limit_s
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the appliance exited with {proc.returncode}")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise TimeoutError("the appliance did not become ready")


async def run(enrolments: int, sample_every: int, warmup: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        root = Path(tmp)
        central = load_or_create_state(root / "central", hosts=["127.0.0.1"])
        desk = case_desk(root / "central", central.ca, await open_case_store(root / "central"))
        references = [f"AIMA-2026-8{number:05d}" for number in range(warmup + enrolments)]
        await _seed_cases(desk, references)
        receiver = Receiver(central, cases=desk)
        await receiver.start("127.0.0.1:0")
        port = free_port()
        config = await prepare_kiosk(
            root,
            receiver,
            central,
            finger_delay_s=FINGER_DELAY_S,
            lift_delay_s=LIFT_DELAY_S,
            web_port=port,
        )
        accounts = AccountStore(config.storage.state_dir / "accounts.sqlite")
        for name, (role, password, pin, display) in ACCOUNTS.items():
            accounts.create(name, role, password, pin=pin, display_name=display)
        accounts.close()
        config_file = root / "appliance.yaml"
        config_file.write_text(json.dumps(config.model_dump(mode="json")))  # JSON is YAML
        credentials = root / "credentials"
        credentials.mkdir(mode=0o700, exist_ok=True)
        (credentials / "device-key-passphrase").write_bytes(SECRET)
        daemon_log = root / "daemon.log"
        with daemon_log.open("wb") as log:
            proc = subprocess.Popen(  # noqa: ASYNC220 - spawning returns at once
                [sys.executable, "-m", "appliance", "run", "--config", str(config_file)],
                env={**os.environ, "CREDENTIALS_DIRECTORY": str(credentials)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        samples: list[dict[str, Any]] = []
        try:
            await _wait_ready(base, proc)
            async with httpx.AsyncClient(base_url=base, timeout=120) as client:
                driver = ApiDriver(client, Timings())
                await driver.login("ana", ACCOUNTS["ana"][1])
                window: list[float] = []
                for number in range(warmup + enrolments):
                    driver.timings.calls.clear()
                    started = time.perf_counter()
                    # The applicant puts their own residence permit on the counter.
                    counter_document(root, references[number])
                    done = await driver.enrol(references[number])
                    wall = time.perf_counter() - started
                    await driver.call("post", "/api/workflow/finish")
                    attempts = (
                        sum(
                            s.get("attempts", 0) or 1
                            for s in (done.get("fingers") or {}).get("slaps", [])
                        )
                        or 3
                    )
                    applicant = attempts * (FINGER_DELAY_S + LIFT_DELAY_S) + AUTO_CAPTURE_S
                    if number < warmup:
                        continue
                    window.append(wall - applicant)
                    done_count = number - warmup + 1
                    if done_count == 1 or done_count % sample_every == 0:
                        # The daemon returns the enrolment's freed heap to the kernel in
                        # the background when it ends: sample once it has, not mid-way.
                        await asyncio.sleep(SETTLE_S)
                        tree_mb, daemon_mb = tree_rss_mb(proc.pid)
                        samples.append(
                            {
                                "after": done_count,
                                "rss_mb": round(tree_mb, 1),
                                "daemon_rss_mb": round(daemon_mb, 1),
                                "software_mean_s": round(statistics.mean(window), 3),
                                "api_p95_ms": round(
                                    _p95([s * 1000 for _, s in driver.timings.calls]), 1
                                ),
                            }
                        )
                        window = []
        except BaseException:
            _tell_why(proc, daemon_log)
            raise
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
            await receiver.stop(grace=0)
            await desk.store.close()
            central.store.close()
    first = samples[1] if len(samples) > 2 else samples[0]  # the first full window
    last = samples[-1]
    growth = round(last["rss_mb"] - samples[0]["rss_mb"], 1)
    drift = round(last["software_mean_s"] / first["software_mean_s"] - 1, 3)
    return {
        "enrolments": enrolments,
        "warmup": warmup,
        "sample_every": sample_every,
        "samples": samples,
        "rss_growth_mb": growth,
        "latency_drift": drift,
        "baseline": {"first_window": first},
        "goals": {
            "rss_growth_at_most_20mb": growth <= 20.0,
            "latency_drift_at_most_10pct": drift <= 0.10,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrolments", type=int, default=100)
    parser.add_argument("--sample-every", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.enrolments < args.sample_every:
        parser.error("--enrolments must be at least --sample-every")
    result = asyncio.run(run(args.enrolments, args.sample_every, args.warmup))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
