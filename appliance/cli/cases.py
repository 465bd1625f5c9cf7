"""``appliance cases status --json``: the day lists kept and the check-ins waiting.

For a technician: which days' appointment lists are on the kiosk (sealed to the
device key; only the current day's should be there), and how many check-ins wait
for central, since when and why. It prints no applicant data and needs no key.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from appliance.cli.main import CliError

_LIST = re.compile(r"^day-list-(\d{4}-\d{2}-\d{2})\.sealed$")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("cases", help="day lists kept and check-ins waiting (no personal data)")
    parser.add_argument("action", choices=["status"])
    parser.add_argument("--state-dir", type=Path, default=Path("/var/lib/appliance"))
    parser.add_argument("--json", action="store_true", help="print JSON (the only format)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from appliance.cases.checkins import CheckInQueue

    directory = args.state_dir / "cases"
    if not directory.is_dir():
        raise CliError(f"no case data under {args.state_dir} (not provisioned, or never started)")
    lists = []
    for path in sorted(directory.iterdir()):
        match = _LIST.match(path.name)
        if match:
            stat = path.stat()
            lists.append(
                {
                    "day": match.group(1),
                    "bytes": stat.st_size,
                    "age_s": round(time.time() - stat.st_mtime),
                }
            )
    queue_path = directory / "check-ins.sqlite"
    pending: dict[str, object] = {"pending": 0, "oldest_age_s": 0.0, "last_error": None}
    if queue_path.exists():
        queue = CheckInQueue(queue_path)
        try:
            status = queue.status()
        finally:
            queue.close()
        pending = {
            "pending": status.pending,
            "oldest_age_s": round(status.oldest_age_s, 1),
            "last_error": status.last_error,
        }
    print(json.dumps({"day_lists": lists, "check_ins": pending}))
    return 0
