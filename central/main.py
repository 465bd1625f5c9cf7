"""``appliance-receiver``: the reference central receiver (for tests, demos and pilots).

    appliance-receiver --dir DIR [--listen 127.0.0.1:50443] [--enrol-listen 127.0.0.1:50444]
                       [--token TOKEN ...] [--suite x25519|mlkem768x25519] [--metrics-port N]
                       [--ready-json]
    appliance-receiver report --dir DIR --json

With ``--ready-json`` the first line on stdout, once both ports listen, is
``{"ready": true, "upload": "HOST:PORT", "enrol": "HOST:PORT", "ca": PATH}`` with
the ports actually bound (so ``:0`` can be used). ``report`` prints what the
receiver holds as one JSON object, ``{"packets": [{"packet_id", "device_id",
"case_reference", "commits", "items": [{"type", "name", "quality": [keys]}]}, ...]}``,
read from the state directory (a running receiver may keep serving).

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
    parser.add_argument(
        "--ready-json",
        action="store_true",
        help="print one JSON line with the bound addresses once listening",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def build_report_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="appliance-receiver report", description="what the receiver holds, as JSON"
    )
    parser.add_argument("--dir", type=Path, required=True, help="state directory")
    parser.add_argument("--json", action="store_true", help="print JSON (the only format)")
    return parser


def report(args: argparse.Namespace) -> int:
    import json

    from central.store import ReceiverStore

    store_dir = args.dir / "store"
    if not store_dir.is_dir():
        print(f"appliance-receiver report: no receiver state in {args.dir}", file=sys.stderr)
        return 2
    store = ReceiverStore(store_dir)
    try:
        packets = [
            {
                "packet_id": stored.packet_id,
                "device_id": stored.device_id,
                "case_reference": str(manifest.get("case_reference", "")),
                "commits": stored.commits,
                "items": [
                    {
                        "type": item.get("type"),
                        "name": item.get("name"),
                        "quality": sorted(item.get("quality", {})),
                    }
                    for item in manifest.get("items", [])
                ],
            }
            for stored, manifest in store.all_packets_with_manifests()
        ]
    finally:
        store.close()
    print(json.dumps({"packets": packets}))
    return 0


async def serve(args: argparse.Namespace) -> int:
    from central.server import Receiver, load_or_create_state
    from packet.keys import Suite

    suite = Suite.X25519 if args.suite == "x25519" else Suite.MLKEM768_X25519
    hosts = args.host or ["127.0.0.1", "localhost"]
    state = load_or_create_state(args.dir, hosts=hosts, suite=suite)
    for token in args.token:
        state.store.add_token(token)
    receiver = Receiver(state, args.allowlist)
    await receiver.start(args.listen, args.enrol_listen)
    if args.metrics_port:
        from central.metrics import serve_metrics

        serve_metrics(state, args.metrics_port)
    upload = f"{args.listen.rsplit(':', 1)[0]}:{receiver.port}"
    enrol = f"{args.enrol_listen.rsplit(':', 1)[0]}:{receiver.enrol_port}"
    ca = args.dir / "ca" / "ca.pem"
    if args.ready_json:
        import json

        ready = {"ready": True, "upload": upload, "enrol": enrol, "ca": str(ca)}
        print(json.dumps(ready), flush=True)
    else:
        print(
            f"appliance-receiver: uploads on {upload} (mTLS), enrolment on {enrol}, CA {ca}",
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
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["report"]:
        return report(build_report_parser().parse_args(argv[1:]))
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr)
    try:
        return asyncio.run(serve(args))
    except OSError as exc:
        print(f"appliance-receiver: cannot start: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
