"""``appliance-receiver``: the reference central receiver (for tests, demos and pilots).

    appliance-receiver --dir DIR [--listen 127.0.0.1:50443] [--enrol-listen 127.0.0.1:50444]
                       [--token TOKEN ...] [--suite x25519|mlkem768x25519] [--metrics-port N]

On first start it creates a device CA, central's HPKE key and a TLS
certificate under DIR; ``DIR/ca/ca.pem`` is what technicians pass to
``appliance provision --ca``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="appliance-receiver",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dir", type=Path, required=True, help="state directory")
    parser.add_argument("--listen", default="127.0.0.1:50443", help="mTLS upload address")
    parser.add_argument(
        "--enrol-listen", default="127.0.0.1:50444", help="TLS address for device enrolment"
    )
    parser.add_argument(
        "--host",
        action="append",
        default=[],
        help="host name or IP for the server certificate (repeatable)",
    )
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        help="one-time enrolment token to accept (repeatable)",
    )
    parser.add_argument(
        "--suite",
        choices=["x25519", "mlkem768x25519"],
        default="x25519",
        help="HPKE suite of central's key (on first start)",
    )
    parser.add_argument(
        "--allowlist", type=Path, default=None, help="approved-device list served to kiosks"
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="serve Prometheus metrics on 127.0.0.1:PORT (0: off)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


async def serve(args: argparse.Namespace) -> int:
    from appliance.receiver.server import Receiver, load_or_create_state
    from appliance.sealing.keys import Suite

    suite = Suite.X25519 if args.suite == "x25519" else Suite.MLKEM768_X25519
    hosts = args.host or ["127.0.0.1", "localhost"]
    state = load_or_create_state(args.dir, hosts=hosts, suite=suite)
    for token in args.token:
        state.store.add_token(token)
    receiver = Receiver(state, args.allowlist)
    await receiver.start(args.listen, args.enrol_listen)
    if args.metrics_port:
        from appliance.receiver.metrics import serve_metrics

        serve_metrics(state, args.metrics_port)
    print(
        f"appliance-receiver: uploads on {args.listen} (mTLS), enrolment on "
        f"{args.enrol_listen}, CA {args.dir / 'ca' / 'ca.pem'}",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await receiver.stop()
    state.store.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr)
    try:
        return asyncio.run(serve(args))
    except OSError as exc:
        print(f"appliance-receiver: cannot start: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
