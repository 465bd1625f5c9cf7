"""``appliance provision``: enrol this kiosk with central (technicians, once per device)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("provision", help="generate the device key and enrol with central")
    parser.add_argument("--central", required=True, help="HOST:PORT of central's enrolment RPC")
    parser.add_argument("--token", required=True, help="one-time enrolment token")
    parser.add_argument("--site", required=True, help="CLAIM centre id, e.g. CLAIM-LSB-014")
    parser.add_argument(
        "--ca", type=Path, required=True, help="PEM CA bundle that signs central's TLS certificate"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path("/var/lib/appliance"),
        help="state directory (identity goes to STATE_DIR/identity)",
    )
    parser.add_argument("--kiosk-name", default="kiosk-1", help="counter label")
    parser.add_argument(
        "--key-backend",
        choices=["software", "pkcs11"],
        default="software",
        help="where the signing key is generated (pkcs11: TPM 2.0 or HSM)",
    )
    parser.add_argument(
        "--pkcs11-module",
        type=Path,
        default=Path("/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so"),
    )
    parser.add_argument("--token-label", default="kiosk")
    parser.add_argument("--key-label", default="device-key")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.cli.main import CliError
    from appliance.identity.software_key import KeyStoreError, credential_secret
    from appliance.identity.store import IdentityFiles, ProvisioningError, provision

    files = IdentityFiles(args.state_dir / "identity")
    if files.provisioned():
        raise CliError(
            f"{files.root} already holds an identity; use 'appliance identity "
            "rotate' to replace the key"
        )
    try:
        ca_pem = args.ca.read_bytes()
        secret = credential_secret()
        hsm = None
        if args.key_backend == "pkcs11":
            from appliance.identity.pkcs11_key import PIN_CREDENTIAL, Pkcs11DeviceKey

            pin = credential_secret(PIN_CREDENTIAL, minimum=4).decode()
            hsm = Pkcs11DeviceKey(args.pkcs11_module, args.token_label, args.key_label, pin)
        loaded = asyncio.run(
            provision(
                files,
                central=args.central,
                token=args.token,
                site_id=args.site,
                kiosk_name=args.kiosk_name,
                secret=secret,
                central_ca_pem=ca_pem,
                hsm=hsm,
            )
        )
    except OSError as exc:
        raise CliError(f"cannot read {args.ca}: {exc.strerror}") from None
    except (KeyStoreError, ProvisioningError) as exc:
        raise CliError(str(exc)) from None
    from appliance.audit.log import record_technician_action

    problem = record_technician_action(args.state_dir, "provisioned", loaded.identity.device_id)
    if problem is not None:
        print(f"warning: not in the record of operations: {problem}", file=sys.stderr)
    cert = loaded.identity.chain[0]
    print(
        f"provisioned device {loaded.identity.device_id}; certificate valid until "
        f"{cert.not_valid_after_utc:%Y-%m-%d}; {len(loaded.central_keys)} central key(s)"
    )
    return 0
