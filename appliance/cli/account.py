"""``appliance account``: kiosk accounts from the command line (first technician, resets).

The first technician account is created here, on the kiosk itself, before
anyone can log in to the touchscreen; technicians then add operators and
supervisors from the status pages. Secrets are read from the terminal (twice,
not echoed) or, for scripted provisioning, one per line from standard input
with ``--secret-stdin``; they are never taken from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appliance.accounts import AccountStore

DEFAULT_STATE_DIR = Path("/var/lib/appliance")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("account", help="create and manage kiosk accounts (technicians)")
    actions = parser.add_subparsers(dest="account_command", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="create an account (the first technician, typically)")
    add.add_argument("username")
    add.add_argument(
        "--role", choices=["operator", "supervisor", "technician"], default="technician"
    )
    add.add_argument("--display-name", default=None)
    add.add_argument("--pin", action="store_true", help="also set a PIN (supervisors need one)")
    _common(add)
    add.set_defaults(func=run_add)

    listing = actions.add_parser("list", help="accounts and their roles")
    listing.add_argument("--json", action="store_true")
    _common(listing)
    listing.set_defaults(func=run_list)

    passwd = actions.add_parser("passwd", help="set a new password")
    passwd.add_argument("username")
    _common(passwd)
    passwd.set_defaults(func=run_passwd)

    pin = actions.add_parser("set-pin", help="set a new PIN")
    pin.add_argument("username")
    _common(pin)
    pin.set_defaults(func=run_set_pin)

    unlock = actions.add_parser("unlock", help="clear a lockout after failed attempts")
    unlock.add_argument("username")
    _common(unlock)
    unlock.set_defaults(func=run_unlock)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument(
        "--secret-stdin",
        action="store_true",
        help="read the password (and PIN) from standard input, one per line",
    )


def _store(args: argparse.Namespace) -> AccountStore:
    from appliance.accounts import AccountStore

    return AccountStore(args.state_dir / "accounts.sqlite")


def _record(args: argparse.Namespace, action: str, target: str) -> None:
    """The technician's action, in the kiosk's record of operations (as the system user)."""
    from appliance.audit.log import record_technician_action

    problem = record_technician_action(args.state_dir, action, target)
    if problem is not None:  # the action is done; say loudly that it is not recorded
        print(f"warning: not in the record of operations: {problem}", file=sys.stderr)


def _secret(args: argparse.Namespace, what: str) -> str:
    from appliance.cli.main import CliError

    if args.secret_stdin:
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise CliError(f"no {what} on standard input")
        return line
    first = getpass.getpass(f"{what}: ")
    if getpass.getpass(f"{what} again: ") != first:
        raise CliError(f"the two {what}s differ")
    return first


def run_add(args: argparse.Namespace) -> int:
    from appliance.accounts import AccountError, Role
    from appliance.cli.main import CliError

    password = _secret(args, "password")
    pin = _secret(args, "PIN") if args.pin or args.role == "supervisor" else None
    store = _store(args)
    try:
        account = store.create(
            args.username, Role(args.role), password, pin=pin, display_name=args.display_name
        )
    except AccountError as exc:
        raise CliError(str(exc)) from None
    finally:
        store.close()
    _record(args, f"account_created:{account.role.value}", account.username)
    print(f"created {account.role.value} account {account.username}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        accounts = store.accounts()
    finally:
        store.close()
    rows = [
        {"username": a.username, "role": a.role.value, "display_name": a.display_name,
         "has_pin": a.has_pin, "disabled": a.disabled}
        for a in accounts
    ]  # fmt: skip
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            print(f"{row['username']:<24} {row['role']:<11} {row['display_name']}")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    return _change(args, "password")


def run_set_pin(args: argparse.Namespace) -> int:
    return _change(args, "PIN")


def _change(args: argparse.Namespace, what: str) -> int:
    from appliance.accounts import AccountError
    from appliance.cli.main import CliError

    secret = _secret(args, what)
    store = _store(args)
    try:
        if what == "PIN":
            store.set_pin(args.username, secret)
        else:
            store.set_password(args.username, secret)
    except AccountError as exc:
        raise CliError(str(exc)) from None
    finally:
        store.close()
    _record(args, "pin_changed" if what == "PIN" else "password_changed", args.username)
    print(f"{what} of {args.username} changed")
    return 0


def run_unlock(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        store.get(args.username)
        store.unlock(args.username)
    except Exception as exc:
        from appliance.cli.main import CliError

        raise CliError(str(exc)) from None
    finally:
        store.close()
    _record(args, "account_unlocked", args.username)
    print(f"{args.username} unlocked")
    return 0
