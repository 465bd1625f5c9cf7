"""Central at fleet scale: ``python bench/fleet.py --replicas N --kiosks K --packets P --json``.

One run, three phases on this machine, each with K freshly enrolled kiosks (one
device certificate each) uploading P sealed packets concurrently through the real
uplink code (mTLS, resume, receipts verified):

1. ``embedded``: one ``appliance-receiver`` with SQLite + files;
2. ``replicas_1``: one replica on PostgreSQL + SeaweedFS S3;
3. ``replicas_N``: N replicas, the kiosks balancing round_robin over them; one
   replica is ``kill -9``ed once a third of the packets are in and restarted 2 s later.

``delivered``, ``lost`` and ``duplicates`` are counted without the receiver's
code: PostgreSQL is queried and S3 listed directly (SQLite and the packet
directory for the embedded phase), then every stored packet is downloaded, its
SHA-256 checked and the packet opened with central's key. The top-level figures
are phase 3's; ``runs`` holds every phase and ``ratios`` compares them.
Timing: ``packets_per_s`` = delivered / (first upload to last receipt), sealing
excluded; ``p50_ms``/``p99_ms`` = one packet's upload-to-verified-receipt time.
Everything is on 127.0.0.1, on the same cores as the kiosks themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import os
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography import x509

from central.dev_engines import engines
from central.dev_stack import ReplicaProcess, init_identity
from packet.keys import CentralKeyring
from packet.open import DiscardSink, open_packet
from packet.trust import TrustStore
from tests.central_world import CentralCluster, FleetKiosk, enrol_kiosk, start_cluster


class Stored:
    """What central holds, read from its storage directly: id -> sealed bytes."""

    def __init__(self, rows: list[tuple[str, str]], blobs: dict[str, bytes]) -> None:
        self.rows = rows  # (packet_id, sha256) from the index
        self.blobs = blobs  # packet_id -> bytes from the object store


def read_distributed(cluster: CentralCluster) -> Stored:
    rows = [
        (str(r[0]), str(r[1])) for r in cluster.sql("SELECT packet_id::text, sha256 FROM packets")
    ]
    blobs = {}
    for key in cluster.s3_keys("packets/"):
        packet_id = key.removeprefix("packets/").removesuffix(".pkt")
        blobs[packet_id] = cluster.s3_object(key)
    return Stored(rows, blobs)


def read_embedded(directory: Path) -> Stored:
    with sqlite3.connect(directory / "store" / "index.sqlite") as db:
        rows = [(r[0], r[1]) for r in db.execute("SELECT packet_id, sha256 FROM packets")]
    blobs = {
        path.stem: path.read_bytes() for path in (directory / "store" / "packets").glob("*.pkt")
    }
    return Stored(rows, blobs)


def count(stored: Stored, sealed: set[str], identity_dir: Path) -> dict[str, int]:
    keyring = CentralKeyring.load(identity_dir / "central-keys.json")
    ca = x509.load_pem_x509_certificate((identity_dir / "ca" / "ca.pem").read_bytes())
    trust = TrustStore([ca], [])
    sha_of = dict(stored.rows)
    row_ids = Counter(packet_id for packet_id, _ in stored.rows)
    cases: Counter[str] = Counter()
    delivered = 0
    unreadable = 0
    for packet_id, data in stored.blobs.items():
        if hashlib.sha256(data).hexdigest() != sha_of.get(packet_id):
            unreadable += 1
            continue
        opened = open_packet(io.BytesIO(data), keyring, trust, DiscardSink())
        cases[json.loads(opened.manifest_bytes)["case_reference"]] += 1
        if packet_id in sealed and opened.header.packet_id == packet_id:
            delivered += 1
    duplicates = sum(n - 1 for n in row_ids.values() if n > 1)
    duplicates += sum(n - 1 for n in cases.values() if n > 1)
    return {
        "sealed": len(sealed),
        "delivered": delivered,
        "lost": len(sealed) - delivered,
        "duplicates": duplicates,
        "index_rows": len(stored.rows),
        "objects": len(stored.blobs),
        "unreadable": unreadable,
    }


async def enrol_fleet(root: Path, cluster: Any, enrol: list[str], kiosks: int) -> list[FleetKiosk]:
    fleet = []
    for number in range(kiosks):
        fleet.append(
            await enrol_kiosk(
                root / f"kiosk{number:03d}",
                cluster,
                cluster.tokens[number],
                enrol[number % len(enrol)],
            )
        )
    return fleet


async def upload_fleet(
    fleet: list[FleetKiosk],
    addresses: list[str],
    *,
    on_progress: Any = None,
) -> tuple[float, list[float]]:
    uplinks = [k.uplink(addresses, concurrency=2, backoff_max_s=1.0) for k in fleet]

    async def drain(kiosk: FleetKiosk, uplink: Any) -> None:
        deadline = time.monotonic() + 900
        while kiosk.outbox.status().depth:
            if time.monotonic() > deadline:
                raise RuntimeError("a kiosk did not drain within 15 minutes")
            if not await uplink.drain():
                await asyncio.sleep(0.2)

    started = time.perf_counter()
    tasks = [asyncio.create_task(drain(k, u)) for k, u in zip(fleet, uplinks, strict=True)]
    watcher = asyncio.create_task(on_progress()) if on_progress else None
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    if watcher is not None:
        await watcher
    latencies = [s * 1000 for u in uplinks for s in u.latencies]
    for uplink in uplinks:
        await uplink._channel.close()
    for kiosk in fleet:
        kiosk.outbox.close()
    return elapsed, latencies


def figures(counts: dict[str, int], elapsed: float, latencies: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies) or [0.0]
    return {
        **counts,
        "packets_per_s": round(counts["delivered"] / elapsed, 2),
        "p50_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
        "elapsed_s": round(elapsed, 2),
    }


class TokenHolder:
    def __init__(self, root: Path, tokens: list[str]) -> None:
        self.root, self.tokens = root, tokens
        self.ca_pem = (root / "ca" / "ca.pem").read_bytes()


async def run_embedded(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    tokens = [secrets.token_hex(8) for _ in range(args.kiosks)]
    init_identity(root / "central")
    receiver = ReplicaProcess(root / "central", None, None, {}, tokens=tokens)
    receiver.start()
    try:
        holder = TokenHolder(root / "central", tokens)
        fleet = await enrol_fleet(root, holder, [receiver.enrol], args.kiosks)
        sealed = {i for k in fleet for i in k.queue(args.packets, args.packet_kb * 1024)}
        elapsed, latencies = await upload_fleet(fleet, [receiver.upload])
    finally:
        receiver.stop()
    counts = count(read_embedded(root / "central"), sealed, root / "central")
    return {**figures(counts, elapsed, latencies), "replicas": 1, "replica_killed": False}


async def run_distributed(
    root: Path, engines_pair: Any, replicas: int, args: argparse.Namespace, *, kill: bool
) -> dict[str, Any]:
    cluster = start_cluster(root / "central", *engines_pair, replicas, tokens=args.kiosks)
    killed = False
    try:
        enrol = [r.enrol for r in cluster.replicas]
        fleet = await enrol_fleet(root, cluster, enrol, args.kiosks)
        sealed = {i for k in fleet for i in k.queue(args.packets, args.packet_kb * 1024)}

        async def kill_one_then_restart() -> None:
            nonlocal killed
            while True:
                done = (await asyncio.to_thread(cluster.sql, "SELECT count(*) FROM packets"))[0][0]
                if done >= len(sealed) // 3:
                    break
                await asyncio.sleep(0.1)
            victim = cluster.replicas[-1]
            await asyncio.to_thread(victim.kill)
            killed = True
            await asyncio.sleep(2.0)
            await asyncio.to_thread(victim.start)

        elapsed, latencies = await upload_fleet(
            fleet, cluster.addresses(), on_progress=kill_one_then_restart if kill else None
        )
        counts = count(read_distributed(cluster), sealed, cluster.root / "identity")
    finally:
        cluster.stop()
    return {**figures(counts, elapsed, latencies), "replicas": replicas, "replica_killed": killed}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fleet-") as tmp, engines() as pair:
        os.environ.update(pair[1].environment())
        base = Path(tmp)
        embedded = await run_embedded(base / "embedded", args)
        one = await run_distributed(base / "one", pair, 1, args, kill=False)
        many = await run_distributed(base / "many", pair, args.replicas, args, kill=True)
    main = {k: many[k] for k in ("sealed", "delivered", "lost", "duplicates")}
    return {
        **main,
        "packets_per_s": many["packets_per_s"],
        "p50_ms": many["p50_ms"],
        "p99_ms": many["p99_ms"],
        "replica_killed": many["replica_killed"],
        "replicas": args.replicas,
        "kiosks": args.kiosks,
        "packets_per_kiosk": args.packets,
        "packet_kb": args.packet_kb,
        "counted_from": "postgresql+s3 (sqlite+files for embedded), every packet opened",
        "runs": {"embedded": embedded, "replicas_1": one, f"replicas_{args.replicas}": many},
        "ratios": {
            "replicas_1_vs_embedded_packets_per_s": round(
                one["packets_per_s"] / embedded["packets_per_s"], 3
            ),
            f"replicas_{args.replicas}_vs_replicas_1_packets_per_s": round(
                many["packets_per_s"] / one["packets_per_s"], 3
            ),
            f"replicas_{args.replicas}_vs_embedded_packets_per_s": round(
                many["packets_per_s"] / embedded["packets_per_s"], 3
            ),
        },
        "cpu_count": os.cpu_count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--kiosks", type=int, default=50)
    parser.add_argument("--packets", type=int, default=10, help="packets per kiosk")
    parser.add_argument("--packet-kb", type=int, default=2048, help="payload per packet (KiB)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.replicas < 2:
        parser.error("--replicas must be at least 2 (one is killed mid-run)")
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=None if args.json else 2))
    return 0 if result["lost"] == 0 and result["duplicates"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
