"""Sealing throughput and memory: ``python bench/seal.py --json``.

Prints one JSON object: seal_mb_s, open_mb_s, raw_aead_mb_s (AES-256-GCM over
the same buffer in the same run, same chunk size), ratio = seal / raw, and
peak_rss_growth_mb while sealing a 200 MB packet streamed from a generator.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from packet.format import DEFAULT_CHUNK_SIZE
from packet.open import DiscardSink, open_packet
from packet.seal import ItemSource, seal_packet
from tests.sealing_helpers import META, make_world

MB = 1 << 20


class NullWriter(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def, override]
        return len(data)


def best_of(runs: int, func) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--size-mb", type=int, default=64, help="buffer for throughput runs")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    world = make_world()
    # Peak RSS first, before the throughput buffers exist: a 200 MB packet streamed
    # from a generator (as a scanned-document item would be) into a file sink.
    block = os.urandom(MB)
    baseline_rss = rss_mb()
    seal_packet(
        NullWriter(),
        [
            ItemSource(
                "documents.bin", "document", "application/octet-stream", (block for _ in range(200))
            )
        ],
        signer=world.identity,
        central_key=world.central.public(),
        meta=META,
    )
    growth = rss_mb() - baseline_rss

    payload = os.urandom(args.size_mb * MB)
    items = [ItemSource("payload.bin", "document", "application/octet-stream", payload)]
    sealed = io.BytesIO()

    def do_seal() -> None:
        sealed.seek(0)
        sealed.truncate()
        seal_packet(
            sealed, items, signer=world.identity, central_key=world.central.public(), meta=META
        )

    seal_s = best_of(args.runs, do_seal)
    data = sealed.getvalue()
    open_s = best_of(
        args.runs,
        lambda: open_packet(io.BytesIO(data), world.keyring, world.trust, DiscardSink()),
    )
    aead = AESGCM(os.urandom(32))
    view = memoryview(payload)

    def raw() -> None:
        for start in range(0, len(view), DEFAULT_CHUNK_SIZE):
            aead.encrypt(b"\x00" * 12, view[start : start + DEFAULT_CHUNK_SIZE], b"")

    raw_s = best_of(args.runs, raw)
    size_mb = len(payload) / MB
    result = {
        "seal_mb_s": round(size_mb / seal_s, 1),
        "open_mb_s": round(size_mb / open_s, 1),
        "raw_aead_mb_s": round(size_mb / raw_s, 1),
        "ratio": round((size_mb / seal_s) / (size_mb / raw_s), 3),
        "peak_rss_growth_mb": round(growth, 1),
        "payload_mb": size_mb,
        "chunk_size": DEFAULT_CHUNK_SIZE,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
