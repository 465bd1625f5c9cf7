"""``appliance identity show`` and ``appliance identity rotate`` (technicians)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("identity", help="show or rotate the device identity")
    actions = parser.add_subparsers(dest="identity_command", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="device id, certificate subject, expiry, key backend")
    show.add_argument("--state-dir", type=Path, default=Path("/var/lib/appliance"))
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(func=run_show)
    rotate = actions.add_parser(
        "rotate", help="new device key and certificate; queued packets are kept as sealed"
    )
    rotate.add_argument("--state-dir", type=Path, default=Path("/var/lib/appliance"))
    rotate.add_argument("--central", required=True, help="HOST:PORT of central's enrolment RPC")
    rotate.add_argument("--token", required=True, help="one-time enrolment token")
    rotate.add_argument("--site", required=True, help="CLAIM centre id")
    rotate.add_argument("--ca", type=Path, required=True, help="central's CA bundle (PEM)")
    rotate.add_argument("--kiosk-name", default="kiosk-1")
    rotate.set_defaults(func=run_rotate)


def run_show(args: argparse.Namespace) -> int:
    from cryptography import x509

    from appliance.cli.main import CliError
    from appliance.identity.store import IdentityFiles

    files = IdentityFiles(args.state_dir / "identity")
    if not files.provisioned():
        raise CliError(f"no identity in {files.root}: run 'appliance provision'")
    chain = x509.load_pem_x509_certificates(files.chain.read_bytes())
    cert = chain[0]
    serials = cert.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)
    keys = json.loads(files.central_keys.read_text())
    info = {
        "device_id": str(serials[0].value) if serials else "",
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "days_left": int((cert.not_valid_after_utc.timestamp() - time.time()) // 86400),
        "key_backend": "software",
        "hardware_backed": False,
        "central_key_ids": [k["key_id"] for k in keys],
    }
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key:>16}: {value}")
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    from appliance.cli.main import CliError
    from appliance.identity.software_key import KeyStoreError, credential_secret
    from appliance.identity.store import (
        IdentityFiles,
        ProvisioningError,
        load_identity,
        provision,
    )

    current = args.state_dir / "identity"
    if not IdentityFiles(current).provisioned():
        raise CliError(f"no identity in {current} to rotate: run 'appliance provision'")
    staging = args.state_dir / "identity.new"
    if staging.exists():
        raise CliError(f"{staging} exists from an interrupted rotation; remove it first")
    try:
        secret = credential_secret()
        loaded = asyncio.run(
            provision(
                IdentityFiles(staging),
                central=args.central,
                token=args.token,
                site_id=args.site,
                kiosk_name=args.kiosk_name,
                secret=secret,
                central_ca_pem=args.ca.read_bytes(),
                rotating=load_identity(IdentityFiles(current), secret),
            )
        )
    except OSError as exc:
        raise CliError(f"cannot read {args.ca}: {exc.strerror}") from None
    except (KeyStoreError, ProvisioningError) as exc:
        raise CliError(str(exc)) from None
    # Swap atomically: the old identity is kept (its certificate still vouches for the
    # packets it signed); the outbox is not touched, so nothing is re-sealed or lost.
    archive = args.state_dir / f"identity.old-{int(time.time())}"
    os.replace(current, archive)
    os.replace(staging, current)
    from appliance.audit.log import record_technician_action

    problem = record_technician_action(
        args.state_dir, "identity_rotated", loaded.identity.device_id
    )
    if problem is not None:
        print(f"warning: not in the record of operations: {problem}", file=sys.stderr)
    print(f"rotated: new device {loaded.identity.device_id}; previous identity kept in {archive}")
    return 0
