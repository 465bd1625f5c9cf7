#!/usr/bin/env python3
"""make image-test: boot the kiosk image in QEMU/KVM and prove its A/B updates.

    image-test.py --image build/image/test/claim-kiosk_V1.img --v1 V1 --v2 V2 --v3 V3
                  [--accel auto|kvm|tcg] [--work DIR] [--from STEP] [--to STEP] [--keep]

Needs the test-profile image and the bundles of V2 (an update) and V3 (a release
whose appliance never gets READY) next to it (`make image-test` builds them).
Prints one JSON line per step, then a JSON summary; exit 0 only if all passed.

Under emulation a full run takes long, so it can run in parts: `--to STEP` stops
after STEP and keeps the work directory (the VM's disk overlay, central's state,
the ports and token in state.json); `--work DIR --from STEP` boots that disk again
and goes on from STEP. A partial run reports "steps passed", never "passed".
The host's reference receiver (`appliance-receiver`) and the bundle server listen
on 127.0.0.1 only; so does QEMU's forward of the kiosk web port.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from imagetest import steps
from imagetest.host import Receiver
from imagetest.vm import Vm, kvm_runs_firmware

from central.dev_engines import free_port

ROOT = Path(__file__).resolve().parents[1]
STEPS = [
    "boot", "read_only_root", "ready_and_healthz", "seed_outbox", "reboot_keeps_data",
    "power_cut_during_update", "update", "rollback", "outbox_delivered",
]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, required=True, help="test-profile disk image (v1)")
    parser.add_argument("--v1", required=True, help="version of the disk image")
    parser.add_argument("--v2", required=True, help="update bundle version")
    parser.add_argument("--v3", required=True, help="broken bundle version (never READY)")
    parser.add_argument(
        "--receiver", type=Path, default=ROOT / ".venv" / "bin" / "appliance-receiver"
    )
    parser.add_argument(
        "--accel", choices=["auto", "kvm", "tcg"], default="auto",
        help="QEMU accelerator (auto: KVM if it can run the firmware, else TCG)",
    )  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--work", type=Path, help="work directory (resume: the one kept before)")
    parser.add_argument("--from", dest="first", choices=STEPS, default=STEPS[0])
    parser.add_argument("--to", dest="last", choices=STEPS, default=STEPS[-1])
    args = parser.parse_args()
    bundles = args.image.parent
    for version in (args.v2, args.v3) if not os.environ.get("IMAGE_TEST_WAIT") else ():
        if not (bundles / f"claim-kiosk_{version}.raucb").is_file():
            print(f"image-test: bundle {version} missing in {bundles}", file=sys.stderr)
            return 2

    if args.first != STEPS[0] and not (args.work and (args.work / "state.json").is_file()):
        print(f"image-test: --from {args.first} needs --work with a kept run", file=sys.stderr)
        return 2
    work = args.work or Path(tempfile.mkdtemp(prefix="image-test-", dir=ROOT / "build"))
    work.mkdir(parents=True, exist_ok=True)
    vm_dir, central_dir = steps.work_paths(work)
    saved_path = work / "state.json"
    saved = json.loads(saved_path.read_text()) if saved_path.is_file() else {}
    report = steps.Report()
    started = time.monotonic()
    accel = args.accel
    if accel == "auto":
        accel = "kvm" if kvm_runs_firmware() else "tcg"
    print(json.dumps({"accel": accel}), flush=True)
    steps.SLOW = 1.0 if accel == "kvm" else 4.0
    web_port = int(saved.get("web_port") or free_port())
    vm = Vm(vm_dir, args.image.resolve(), web_port=web_port, accel=accel, updates=bundles)
    token = str(saved.get("token") or steps.new_token())
    receiver = Receiver(args.receiver, central_dir, token, saved.get("receiver_ports"))
    saved_path.write_text(
        json.dumps({"web_port": web_port, "token": token, "receiver_ports": receiver.ports})
    )
    plan = [
        ("boot", lambda: steps.step_boot(kiosk, args.v1)),
        ("read_only_root", lambda: steps.step_read_only(kiosk)),
        ("ready_and_healthz", lambda: steps.step_ready(kiosk)),
        ("seed_outbox", lambda: steps.step_seed(kiosk)),
        ("reboot_keeps_data", lambda: steps.step_reboot_persists(kiosk)),
        ("power_cut_during_update", lambda: steps.step_power_cut(kiosk, args.v1, args.v2)),
        ("update", lambda: steps.step_update(kiosk, args.v2)),
        ("rollback", lambda: steps.step_rollback(kiosk, args.v2, args.v3)),
        ("outbox_delivered", lambda: steps.step_delivery(kiosk)),
    ]
    assert [name for name, _ in plan] == STEPS
    chosen = plan[STEPS.index(args.first) : STEPS.index(args.last) + 1]
    kiosk = steps.Kiosk(vm, receiver)
    try:
        if args.first != STEPS[0]:
            report.run("resume_boot", lambda: steps.step_resume(kiosk))
        for name, body in chosen:
            if not report.steps[-1:] or report.steps[-1]["passed"]:
                report.run(name, body)
        if args.last != STEPS[-1] and report.steps[-1]["passed"]:
            kiosk.power_off()  # shut down cleanly; `--work DIR --from NEXT` goes on
    finally:
        vm.stop()
        receiver.stop()
    all_passed = all(s["passed"] for s in report.steps) and len(report.steps) >= len(chosen)
    passed = all_passed and chosen == plan
    summary = {
        "image_test": "passed" if passed else "steps passed" if all_passed else "failed",
        "accel": accel,
        "seconds": round(time.monotonic() - started, 1),
        "steps": report.steps,
        "serial_log": str(vm.serial) if not passed or args.keep else None,
        "work": str(work),
    }
    print(json.dumps(summary, indent=2))
    if passed and not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all_passed else 1


if __name__ == "__main__":
    sys.exit(main())
