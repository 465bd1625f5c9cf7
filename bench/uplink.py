"""Uplink throughput and latency over loopback: ``python bench/uplink.py --json``.

One run, one JSON object:
- ``packets_s`` / ``mb_s`` for 1 MB and 10 MB packets (seal excluded: queued first);
- ``raw_grpc_mb_s``: a plain grpcio client stream of the same bytes, same TLS, same
  chunking, measured in the same run, and ``ratio`` = uplink / raw;
- ``backlog_1000_s``: time to drain 1000 queued packets (20 kB each);
- ``latency_p50_ms`` / ``latency_p99_ms``: capture (sealing start) to verified receipt,
  one enrolment at a time.
Everything runs on 127.0.0.1; the receiver fsyncs every write, as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc
from cryptography.hazmat.primitives import serialization

from tests.uplink_world import Kiosk, close, make_kiosk

MB = 1 << 20


async def drain_rate(kiosk: Kiosk, count: int, size: int) -> tuple[float, float]:
    kiosk.queue(count, size=size)
    total = kiosk.outbox.status().bytes
    uplink = kiosk.uplink(concurrency=2)
    start = time.perf_counter()
    assert await uplink.drain()
    elapsed = time.perf_counter() - start
    await uplink._channel.close()
    return count / elapsed, total / MB / elapsed


async def raw_grpc(kiosk: Kiosk, total_bytes: int, chunk: int = MB) -> float:
    """A bare client stream with the same TLS: the ceiling for our upload protocol."""
    received = 0

    async def sink(request_iterator, context):  # type: ignore[no-untyped-def]
        nonlocal received
        async for message in request_iterator:
            received += len(message)
        return b""

    handler = grpc.method_handlers_generic_handler(
        "bench.Raw",
        {
            "Send": grpc.stream_unary_rpc_method_handler(
                sink, request_deserializer=None, response_serializer=None
            )
        },
    )
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 8 * MB)])
    server.add_generic_rpc_handlers((handler,))
    state = kiosk.state
    pem = serialization.Encoding.PEM
    key_pem = state.signer_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    port = server.add_secure_port(
        "127.0.0.1:0", grpc.ssl_server_credentials([(key_pem, state.signer_cert.public_bytes(pem))])
    )
    await server.start()
    channel = grpc.aio.secure_channel(
        f"127.0.0.1:{port}",
        grpc.ssl_channel_credentials(state.ca.certificate.public_bytes(pem)),
        options=[("grpc.max_send_message_length", 8 * MB)],
    )
    send = channel.stream_unary("/bench.Raw/Send")
    block = os.urandom(chunk)

    async def messages():  # type: ignore[no-untyped-def]
        for _ in range(total_bytes // chunk):
            yield block

    start = time.perf_counter()
    await send(messages())
    elapsed = time.perf_counter() - start
    await channel.close()
    await server.stop(0)
    assert received == total_bytes // chunk * chunk
    return received / MB / elapsed


async def latency(kiosk: Kiosk, count: int) -> list[float]:
    uplink = kiosk.uplink()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        kiosk.queue(1, size=400_000)  # seal a face-and-slap sized enrolment
        assert await uplink.drain()
        samples.append((time.perf_counter() - start) * 1000)
    await uplink._channel.close()
    return samples


async def run(quick: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        kiosk = await make_kiosk(Path(tmp))
        try:
            p1, mb1 = await drain_rate(kiosk, 10 if quick else 40, MB)
            p10, mb10 = await drain_rate(kiosk, 2 if quick else 8, 10 * MB)
            raw = await raw_grpc(kiosk, (20 if quick else 80) * MB)
            backlog_count = 100 if quick else 1000
            kiosk.queue(backlog_count, size=20_000)
            uplink = kiosk.uplink(concurrency=4)
            start = time.perf_counter()
            assert await uplink.drain()
            backlog_s = time.perf_counter() - start
            await uplink._channel.close()
            samples = await latency(kiosk, 10 if quick else 50)
            assert kiosk.outbox.status().depth == 0
        finally:
            await close(kiosk)
    samples.sort()
    return {
        "packets_s_1mb": round(p1, 1),
        "mb_s_1mb": round(mb1, 1),
        "packets_s_10mb": round(p10, 2),
        "mb_s_10mb": round(mb10, 1),
        "raw_grpc_mb_s": round(raw, 1),
        "ratio_1mb": round(mb1 / raw, 3),
        "ratio_10mb": round(mb10 / raw, 3),
        "backlog_packets": backlog_count,
        "backlog_1000_s": round(backlog_s, 2),
        "latency_p50_ms": round(statistics.median(samples), 1),
        "latency_p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smaller run (100-packet backlog)")
    args = parser.parse_args()
    result = asyncio.run(run(args.quick))
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
