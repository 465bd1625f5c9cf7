"""Enrolment workflow benchmark: full simulated enrolments through the UI's HTTP API.

    python bench/workflow.py --json [--enrolments 3]

A provisioned kiosk (loopback central, simulated reader, file cameras playing
simulated portraits and a document scene) is driven exactly as the touchscreen
drives it: QR scan (every applicant's own appointment slip), consent, face
(auto-capture from the live preview), 4-4-2 fingerprints, one document, review,
submit. Every enrolment does the same steps, the first one included. Reported:

- ``software_s``: wall time of one enrolment minus the simulated applicant's
  delays (the reader's finger-placing and lifting delays for every attempt)
  and the devices' frame clocks (``device_frame_clocks_s``: the face
  auto-capture's run of good frames at the camera's rate, and the reader's
  previews of the settling finger at its preview rate), over
  ``--enrolments`` enrolments after a first one (reported on its own as
  ``first_enrolment_software_s``: whatever was not warmed before READY shows
  there). It
  includes the simulated reader synthesising each print (~0.2 s a slap), the
  benchmark's own 50 ms polling, and the real NFIQ 2, segmentation, sequence
  check, WSQ/ANSI-NIST records, document rectification and sealing;
- ``simulated_reader_cpu_s``: of that software time, the CPU the simulated
  reader spent synthesising prints and settling previews (work a physical
  reader does in its own hardware), and ``software_without_simulation_s``
  (``software_s`` minus it). The goals stay on ``software_s``;
- ``waits_s``: per enrolment (after the first), how long the screen waited on
  each background step (the face auto-capture, the reader's three slaps, the
  documents' MRZ reads, the sealing), the simulated applicant's delays included;
  ``first_enrolment_waits_s`` the same for the first enrolment (where a cold
  path would show);
- ``api``: latency of every UI API call (p50/p95/max), and the same for the
  interactive calls only (those answering a tap: everything but the four
  heavy actions listed under ``heavy_routes``, which build the fingerprint
  records, capture documents, scan QR codes and seal the packet);
- ``preview``: MJPEG frames per second and capture-to-client latency on loopback.

Goals (issue 15): software time at most 3 s per enrolment on average, the first
enrolment at most 1.2 times the mean (the engines are warmed before READY), and
every operator-facing route's p95 at most 300 ms (the QR scan waits for the
applicant's slip and is reported but not held to it; login is argon2id by design;
a document photo answers once it is kept, and its MRZ is read in the
background). The earlier goals (interactive p95 under 100 ms, preview rate and
latency) are kept.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from appliance.config.quality import FaceQualityThresholds  # noqa: E402
from tests.e2e.api_driver import ApiDriver, Timings  # noqa: E402
from tests.e2e.world import counter_slip, kiosk_world, sim_reader  # noqa: E402

FINGER_DELAY_S = 0.3
LIFT_DELAY_S = 0.1
CAMERA_FPS = 20
HEAVY_ROUTES = (
    "POST /api/workflow/fingers/done",
    "POST /api/workflow/documents",
    "POST /api/workflow/scan",
    "POST /api/workflow/submit",
    "POST /api/auth/login",
)
#: Routes that wait for the applicant by design (the QR slip under the camera) or are
#: slow on purpose (argon2id at login): not operator-facing waits for software.
WAITING_ROUTES = ("POST /api/workflow/scan", "POST /api/auth/login")
_ID = re.compile(r"/[0-9a-f]{32}")


def _route(route: str) -> str:
    return _ID.sub("/{id}", route)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _preview(client: httpx.AsyncClient, seconds: float = 3.0) -> dict[str, float]:
    frames, latencies = 0, []
    first = last = 0.0
    started = time.perf_counter()
    async with client.stream("GET", "/api/workflow/preview/face.mjpg") as stream:
        buffer = b""
        async for chunk in stream.aiter_bytes():
            buffer += chunk
            for match in re.finditer(rb"X-Capture-Time: ([0-9.]+)", buffer):
                now = time.time()
                latencies.append((now - float(match.group(1))) * 1000)
                frames += 1
                first = first or time.perf_counter()
                last = time.perf_counter()
            cut = buffer.rfind(b"--frame")
            buffer = buffer[cut:] if cut > 0 else buffer
            if b"X-Capture-Time" in buffer:
                buffer = b""
            if time.perf_counter() - started > seconds:
                break
    return {
        "frames": frames,
        "fps": round((frames - 1) / (last - first), 1) if frames > 1 and last > first else 0.0,
        "latency_p50_ms": round(_percentile(latencies, 0.5), 1),
        "latency_p95_ms": round(_percentile(latencies, 0.95), 1),
    }


AUTO_CAPTURE_FRAMES = FaceQualityThresholds().auto_capture_frames


async def run(enrolments: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-workflow-") as tmp:
        async with kiosk_world(
            Path(tmp), finger_delay_s=FINGER_DELAY_S, lift_delay_s=LIFT_DELAY_S
        ) as world:
            async with httpx.AsyncClient(base_url=world.base_url, timeout=120) as client:
                timings = Timings()
                driver = ApiDriver(client, timings)
                await driver.login("ana", world.password("ana"))
                software, walls, delays, simulated = [], [], [], []
                device_clocks: list[float] = []
                waits: list[dict[str, float]] = []
                reader = sim_reader(world.app)
                for number in range(enrolments + 1):  # the first one is reported on its own
                    # Every applicant brings their appointment slip (a QR code) to the counter.
                    await asyncio.to_thread(counter_slip, world.root, f"AIMA-2026-9{number:05d}")
                    simulated_before = reader.simulation_s
                    clock_before = reader.preview_clock_s
                    waits_before = dict(timings.waits)
                    started = time.perf_counter()
                    done = await driver.enrol(None)  # scans the slip
                    wall = time.perf_counter() - started
                    view = done
                    attempts = sum(
                        s.get("attempts", 0) for s in (view.get("fingers") or {}).get("slaps", [])
                    )
                    attempts = attempts or 3  # the view after submit no longer lists slaps
                    reader_clock = reader.preview_clock_s - clock_before  # its previews
                    clocks = AUTO_CAPTURE_FRAMES / CAMERA_FPS + reader_clock  # + the face gate's
                    applicant = attempts * (FINGER_DELAY_S + LIFT_DELAY_S) + clocks
                    await driver.call("post", "/api/workflow/finish")
                    walls.append(wall)
                    delays.append(applicant)
                    software.append(wall - applicant)
                    simulated.append(reader.simulation_s - simulated_before)
                    device_clocks.append(clocks)
                    waits.append(
                        {k: v - waits_before.get(k, 0.0) for k, v in timings.waits.items()}
                    )
                # The preview while an enrolment sits at the face step.
                await driver.start("AIMA-2026-999999", "en")
                await driver.call("post", "/api/workflow/consent", json={"accepted": True})
                preview = await _preview(client)
                await driver.call("delete", "/api/workflow")
    first, software, walls, delays = software[0], software[1:], walls[1:], delays[1:]
    simulated = simulated[1:]
    all_ms = [s * 1000 for _, s in timings.calls]
    interactive = [s * 1000 for r, s in timings.calls if not r.startswith(HEAVY_ROUTES)]
    by_route: dict[str, list[float]] = {}
    for route, seconds in timings.calls:
        by_route.setdefault(_route(route), []).append(seconds * 1000)
    return {
        "enrolments": enrolments,
        "software_s": {"mean": round(statistics.mean(software), 2), "max": round(max(software), 2)},
        "first_enrolment_software_s": round(first, 2),
        "simulated_reader_cpu_s": round(statistics.mean(simulated), 2),
        "software_without_simulation_s": round(
            statistics.mean(s - d for s, d in zip(software, simulated, strict=True)), 2
        ),
        "wall_s": {"mean": round(statistics.mean(walls), 2), "max": round(max(walls), 2)},
        "waits_s": {
            label: round(statistics.mean(w.get(label, 0.0) for w in waits[1:]), 2)
            for label in sorted({label for w in waits for label in w})
        },
        "first_enrolment_waits_s": {label: round(s, 2) for label, s in sorted(waits[0].items())},
        "simulated_applicant_s": round(statistics.mean(delays), 2),
        "device_frame_clocks_s": round(statistics.mean(device_clocks[1:]), 2),
        "api": {
            "calls": len(all_ms),
            "p50_ms": round(_percentile(all_ms, 0.5), 1),
            "p95_ms": round(_percentile(all_ms, 0.95), 1),
            "max_ms": round(max(all_ms), 1),
            "interactive_calls": len(interactive),
            "interactive_p95_ms": round(_percentile(interactive, 0.95), 1),
            "heavy_routes": list(HEAVY_ROUTES),
            "waiting_routes": list(WAITING_ROUTES),
            "slowest_route_p95": _slowest(by_route),
            "by_route": {
                route: {
                    "n": len(values),
                    "p95_ms": round(_percentile(values, 0.95), 1),
                    "max_ms": round(max(values), 1),
                }
                for route, values in sorted(by_route.items())
            },
        },
        "preview": preview,
        "goals": {
            "software_mean_at_most_3s": statistics.mean(software) <= 3.0,
            "first_enrolment_at_most_1_2x_mean": first <= 1.2 * statistics.mean(software),
            "every_operator_route_p95_at_most_300ms": all(
                _percentile(values, 0.95) <= 300.0
                for route, values in by_route.items()
                if not route.startswith(WAITING_ROUTES)
            ),
            "interactive_api_p95_under_100ms": _percentile(interactive, 0.95) < 100.0,
            "preview_at_least_15fps": preview["fps"] >= 15.0,
            "preview_latency_under_200ms": preview["latency_p95_ms"] < 200.0,
        },
    }


def _slowest(by_route: dict[str, list[float]]) -> dict[str, Any]:
    """The route with the highest p95, waiting routes included."""
    route = max(by_route, key=lambda r: _percentile(by_route[r], 0.95))
    return {"route": route, "p95_ms": round(_percentile(by_route[route], 0.95), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrolments", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    result = asyncio.run(run(args.enrolments))
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
