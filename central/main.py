"""``appliance-receiver``: the reference central receiver (tests, demos, pilots, and at
national scale as stateless replicas on PostgreSQL + S3).

    appliance-receiver --dir DIR [--listen 127.0.0.1:50443] [--enrol-listen 127.0.0.1:50444]
                       [--database postgresql://... --objects s3://BUCKET?endpoint=URL]
                       [--token TOKEN ...] [--suite x25519|mlkem768x25519]
                       [--synthetic-cases SITE[:COUNT] ...]
                       [--metrics-port N [--metrics-address A]] [--ready-json]
    appliance-receiver init --dir DIR [--host NAME ...] [--suite ...]
    appliance-receiver report --dir DIR [--database URL --objects URL] --json
    appliance-receiver revoke --dir DIR [--database URL --objects URL] (--serial HEX | --device ID)
    appliance-receiver statistics --dir DIR [--database URL --objects URL] [--from DAY]
                       [--to DAY] [--csv]
    appliance-receiver cases seed|check-ins --dir DIR --site SITE [--day YYYY-MM-DD] ...

``CaseService`` (case lookup, check-in, the signed day list) answers from the case
store: SQLite under DIR/cases (embedded) or the PostgreSQL database (distributed).
``--synthetic-cases SITE[:COUNT]`` seeds invented cases for SITE every day (COUNT
open appointments, 24 by default, plus suspended, closed and other-site cases), for
demos and tests; ``cases seed`` does the same once and prints what it seeded.

Without ``--database``/``--objects`` the receiver keeps everything under DIR
(SQLite + files; one process). With both, DIR holds only the shared identity
(created once by ``init``) and every replica keeps its index in PostgreSQL and its
packets in the S3 bucket; any number of replicas may serve at once. Database
passwords come from libpq's own ``PGPASSWORD``/``PGPASSFILE``, S3 credentials from
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (or any boto3 source).

With ``--ready-json`` the first line on stdout, once both ports listen, is
``{"ready": true, "upload": "HOST:PORT", "enrol": "HOST:PORT", "ca": PATH,
"backend": "embedded"|"distributed", "metrics": "HOST:PORT"|null}`` with the
ports actually bound (so ``:0`` can be used). ``report`` prints what central holds
as one JSON object, ``{"packets": [{"packet_id", "device_id", "case_reference",
"commits", "items": [{"type", "name", "quality": [keys]}]}, ...], "audit": {"devices",
"flags"}, "ledgers": {"days", "mismatches", "statistics", "by_site"}}``, the same for
both back ends (a running receiver may keep serving); ``audit`` lists each kiosk's
record of operations as central holds it and every flag (a rewritten or truncated
history), ``ledgers`` each day's signed ledger reconciled with the receipts central
issued. ``statistics`` aggregates the ledgers across sites for a period (JSON, or
one CSV row per kiosk and day).

``DIR/ca/ca.pem`` is what technicians pass to ``appliance provision --ca``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from central.admin import ADMIN_COMMANDS, add_storage_flags, open_from_args

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
    add_storage_flags(parser)
    parser.add_argument(
        "--synthetic-cases",
        action="append",
        default=[],
        metavar="SITE[:COUNT]",
        help="seed synthetic (invented) cases for SITE every day (repeatable)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="serve Prometheus metrics on METRICS_ADDRESS:PORT (0: off)",
    )
    parser.add_argument(
        "--metrics-address", default="127.0.0.1", help="address of the metrics endpoint"
    )
    parser.add_argument(
        "--ready-json",
        action="store_true",
        help="print one JSON line with the bound addresses once listening",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


async def serve(args: argparse.Namespace) -> int:
    from central.cases.setup import case_desk, open_case_store, parse_synthetic_sites
    from central.server import Receiver, load_or_create_state
    from packet.keys import Suite

    suite = Suite.X25519 if args.suite == "x25519" else Suite.MLKEM768_X25519
    hosts = args.host or ["127.0.0.1", "localhost"]
    synthetic = parse_synthetic_sites(args.synthetic_cases)
    storage = await open_from_args(args)
    cases = None
    try:
        state = load_or_create_state(
            args.dir,
            hosts=hosts,
            suite=suite,
            storage=storage,
            create=storage.backend == "embedded",
        )
        for token in args.token:
            await state.storage.add_token(token)
        cases = await open_case_store(args.dir, args.database)
        desk = case_desk(
            args.dir,
            state.ca,
            cases,
            synthetic_sites=synthetic,
            create=storage.backend == "embedded",
        )
        receiver = Receiver(state, args.allowlist, desk)
        await receiver.start(args.listen, args.enrol_listen)
        metrics = None
        if args.metrics_port:
            state.metrics.serve(args.metrics_port, args.metrics_address)
            metrics = f"{args.metrics_address}:{args.metrics_port}"
        upload = f"{args.listen.rsplit(':', 1)[0]}:{receiver.port}"
        enrol = f"{args.enrol_listen.rsplit(':', 1)[0]}:{receiver.enrol_port}"
        ca = args.dir / "ca" / "ca.pem"
        if args.ready_json:
            ready = {
                "ready": True,
                "upload": upload,
                "enrol": enrol,
                "ca": str(ca),
                "backend": storage.backend,
                "metrics": metrics,
            }
            print(json.dumps(ready), flush=True)
        else:
            print(
                f"appliance-receiver: uploads on {upload} (mTLS), enrolment on {enrol},"
                f" CA {ca}, {storage.backend} storage",
                flush=True,
            )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await receiver.stop()
    finally:
        if cases is not None:
            await cases.close()
        await storage.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from central.cases.setup import DayListSignerMissing
    from central.server import MissingIdentity
    from central.storage import StorageUnavailable

    argv = list(sys.argv[1:] if argv is None else argv)
    command = ADMIN_COMMANDS.get(argv[0]) if argv else None
    try:
        if command is not None:
            return command(argv[1:])
        args = build_parser().parse_args(argv)
        logging.basicConfig(level=args.log_level, stream=sys.stderr)
        return asyncio.run(serve(args))
    except (OSError, StorageUnavailable, MissingIdentity, DayListSignerMissing, ValueError) as exc:
        what = "cannot start" if command is None else argv[0]
        print(f"appliance-receiver: {what}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
