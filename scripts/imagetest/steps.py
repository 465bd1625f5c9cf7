"""The image test's steps: boot, READY, read-only root, data survives a reboot,
power cut during an update, update to v2, rollback from a v3 that never gets READY,
and delivery of the outbox seeded before the updates.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from imagetest import guest
from imagetest.host import GUEST_HOST, Receiver
from imagetest.vm import GuestError, Vm

SEEDED = 2
#: Time limits are for KVM; under TCG (software emulation) everything runs ~SLOW times slower.
SLOW = 1.0


def limit(seconds: float) -> float:
    return seconds * SLOW


class StepFailed(Exception):
    """A check of a step did not hold; the message says which."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


@dataclass
class Report:
    steps: list[dict[str, object]] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)

    def run(self, name: str, body: Callable[[], dict[str, object] | None]) -> bool:
        started = time.monotonic()
        try:
            detail = body() or {}
            passed, error = True, None
        except Exception as exc:  # a failed check, the guest, or the harness: all reported
            detail, passed, error = {}, False, f"{type(exc).__name__}: {exc}"
        entry: dict[str, object] = {
            "step": name, "passed": passed, "seconds": round(time.monotonic() - started, 1),
        }  # fmt: skip
        if error:
            entry["error"] = error
        entry.update(detail)
        self.steps.append(entry)
        print(json.dumps(entry), flush=True)
        return passed


class Kiosk:
    """The VM plus what the test knows about it (versions, central, update server)."""

    def __init__(self, vm: Vm, receiver: Receiver) -> None:
        self.vm = vm
        self.receiver = receiver
        self.boot_id = ""

    def sh(self, script: str, timeout: float = 120.0, stdin: bytes | None = None) -> str:
        result = self.vm.agent.run(script, timeout=timeout, stdin=stdin)
        if result.code != 0:
            output = (result.out + result.err)[-1500:]
            raise StepFailed(f"guest command failed ({result.code}): {output}")
        return result.out

    def facts(self) -> dict[str, str]:
        return guest.parse_facts(self.sh(guest.FACTS))

    def current_boot_id(self) -> str:
        return self.sh("cat /proc/sys/kernel/random/boot_id").strip()

    def wait_boot(self, timeout: float, after: str = "") -> str:
        """Until the agent answers from a boot other than ``after``; returns its boot id."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.vm.wait_agent(max(1.0, deadline - time.monotonic()))
                boot_id = self.current_boot_id()
            except (GuestError, StepFailed, OSError):
                self.vm.agent.close()
                time.sleep(1)
                continue
            if boot_id != after:
                self.boot_id = boot_id
                return boot_id
            time.sleep(1)
        raise StepFailed(f"the guest did not come up (again) within {timeout:.0f} s")

    def power_off(self) -> None:
        """A clean shutdown (end of a partial run): the next run boots the disk again."""
        if self.vm.process is None or self.vm.process.poll() is not None:
            return
        try:
            self.vm.agent.run("systemd-run --on-active=1 --no-block systemctl poweroff")
            self.vm.process.wait(timeout=limit(60))
        except (GuestError, OSError, subprocess.TimeoutExpired):
            pass  # vm.stop() ends it

    def reboot(self) -> None:
        self.sh("systemd-run --on-active=1 --no-block systemctl reboot >/dev/null")

    def wait_ready(self, timeout: float) -> dict[str, str]:
        """Until appliance.service is active (READY) and the slot is blessed."""
        deadline = time.monotonic() + timeout
        facts: dict[str, str] = {}
        while time.monotonic() < deadline:
            facts = self.facts()
            if facts.get("appliance") == "active" and facts.get("bless") == "active":
                return facts
            if facts.get("appliance") == "failed":
                break
            time.sleep(1)
        journal = self.vm.agent.run("journalctl -b -u appliance.service --no-pager | tail -n 20")
        raise StepFailed(f"not READY and blessed: {facts} {journal.out[-800:]}")

    def healthz(self) -> int:
        url = f"http://127.0.0.1:{self.vm.web_port}/healthz"
        with urllib.request.urlopen(url, timeout=limit(10)) as response:
            status: int = response.status
            return status

    def outbox(self) -> dict[str, object]:
        report: dict[str, object] = json.loads(
            self.sh(guest.outbox_script(), stdin=guest.OUTBOX.encode())
        )
        return report

    def data_fingerprint(self) -> str:
        return self.sh(
            "sha256sum /etc/appliance/appliance.yaml /var/lib/appliance/identity/device-chain.pem "
            "/etc/appliance/credentials/device-key-passphrase"
        )


def queued(outbox: dict[str, object]) -> int:
    states = outbox.get("states")
    assert isinstance(states, dict)
    return int(states.get("queued", 0)) + int(states.get("uploading", 0))


def step_boot(k: Kiosk, v1: str) -> dict[str, object]:
    started = time.monotonic()
    k.vm.start()
    k.wait_boot(limit(240))
    facts = k.facts()
    check(facts.get("version") == v1, f"booted version {facts.get('version')}, expected {v1}")
    check(facts.get("slot") == "A", f"booted slot {facts.get('slot')}, expected A")
    return {
        "boot_to_agent_s": round(time.monotonic() - started, 1),
        "version": v1,
        "slot": "A",
        "failed_units": facts.get("failed_units", ""),
    }


def step_resume(k: Kiosk) -> dict[str, object]:
    """A resumed run: boot the kept disk again (for the guest, like a reboot)."""
    started = time.monotonic()
    k.vm.start()
    k.wait_boot(limit(240))
    agent_s = time.monotonic() - started
    provisioned = k.sh("test -f /etc/appliance/appliance.yaml && echo yes || true").strip()
    facts = k.wait_ready(limit(240)) if provisioned == "yes" else k.facts()
    return {
        "boot_to_agent_s": round(agent_s, 1),
        "boot_to_ready_s": round(time.monotonic() - started, 1) if provisioned else None,
        "version": facts.get("version"),
        "slot": facts.get("slot"),
    }


def step_read_only(k: Kiosk) -> dict[str, object]:
    out = k.sh(guest.READ_ONLY)
    check("squashfs" in out and " ro" in out.split("\n")[0] + " ", f"root mount: {out!r}")
    check("Read-only file system" in out, f"writing under /usr did not fail as read-only: {out!r}")
    for path in ("/data ", "/var/lib/appliance ", "/etc/appliance "):
        line = next((x for x in out.splitlines() if x.startswith(path)), "")
        check(
            "vda4" in line and "ext4" in line,
            f"{path.strip()} is not on the data partition: {line!r}",
        )
    return {"root": out.splitlines()[0]}


def step_ready(k: Kiosk) -> dict[str, object]:
    if SLOW > 1:
        k.sh(guest.SLOW_START.format(seconds=int(limit(120))))
    k.receiver.start()
    script = guest.provision_script(
        central=f"{GUEST_HOST}:{k.receiver.enrol}",
        uplink=f"{GUEST_HOST}:{k.receiver.listen}",
        token=k.receiver.token,
    )
    k.sh(script, timeout=limit(180), stdin=k.receiver.ca.read_bytes())
    started = time.monotonic()
    k.sh(guest.START, timeout=limit(240))
    ready_s = time.monotonic() - started
    facts = k.wait_ready(limit(30))
    check(k.healthz() == 200, "/healthz did not answer 200 through the forward")
    return {"start_to_ready_s": round(ready_s, 1), "grubenv_A_TRY": facts.get("grubenv.A_TRY")}


def step_seed(k: Kiosk) -> dict[str, object]:
    k.receiver.stop()  # central away: the sealed packets stay in the outbox
    sealed = k.sh(guest.seed_script(SEEDED), timeout=limit(300), stdin=guest.SEED.encode())
    seeded: dict[str, object] = json.loads(sealed.strip().splitlines()[-1])
    k.sh(guest.START, timeout=limit(240))
    outbox = k.outbox()
    check(seeded.get("depth") == SEEDED, f"sealing reported {seeded}")
    check(queued(outbox) == SEEDED, f"outbox after seeding: {outbox}")
    return {"queued": SEEDED, "guest_load_s": seeded["load_s"], "guest_seal_s": seeded["seal_s"]}


def step_reboot_persists(k: Kiosk) -> dict[str, object]:
    before = k.data_fingerprint()
    outbox_before = k.outbox()
    old = k.boot_id
    started = time.monotonic()
    k.reboot()
    k.wait_boot(limit(240), after=old)
    facts = k.wait_ready(limit(240))
    boot_to_ready = time.monotonic() - started
    check(k.healthz() == 200, "/healthz did not answer 200 after the reboot")
    check(k.data_fingerprint() == before, "config/identity/credentials changed across the reboot")
    outbox = k.outbox()
    check(outbox == outbox_before and outbox.get("bad_blobs") == 0, f"outbox changed: {outbox}")
    guest_ready = int(facts.get("ready_us", "0")) / 1e6
    k_figures = {
        "reboot_to_ready_s": round(boot_to_ready, 1),
        "kernel_to_ready_s": round(guest_ready, 1),
    }
    return k_figures


def step_power_cut(k: Kiosk, v1: str, v2: str) -> dict[str, object]:
    wait_for_bundle(k, v2)
    k.sh(guest.install(v2, background=True), timeout=limit(60))
    deadline = time.monotonic() + limit(120)
    log = ""
    while "Copying image" not in log:  # cut the power while RAUC writes the slot
        check(time.monotonic() < deadline, f"RAUC did not start writing: {log[-400:]!r}")
        log = k.sh(guest.INSTALL_PROGRESS)
        check("failed" not in log.lower(), f"rauc install failed: {log[-400:]!r}")
        time.sleep(0.3)
    time.sleep(2)
    k.vm.power_cut()
    k.vm.start()
    k.wait_boot(limit(240))
    facts = k.wait_ready(limit(240))
    check(facts.get("version") == v1 and facts.get("slot") == "A", f"after the power cut: {facts}")
    outbox = k.outbox()
    check(queued(outbox) == SEEDED and outbox.get("bad_blobs") == 0, f"outbox: {outbox}")
    return {"cut_during": log.strip().splitlines()[-1][:120] if log.strip() else "download"}


def step_update(k: Kiosk, v2: str) -> dict[str, object]:
    started = time.monotonic()
    k.sh(guest.install(v2, background=False), timeout=limit(900))
    installed = time.monotonic()
    env = k.facts()
    check(env.get("grubenv.ORDER") == "B A", f"after install ORDER={env.get('grubenv.ORDER')}")
    old = k.boot_id
    k.reboot()
    k.wait_boot(limit(240), after=old)
    # Before READY the new slot is on trial; after READY appliance-bless marks it good.
    facts = k.wait_ready(limit(240))
    check(facts.get("version") == v2 and facts.get("slot") == "B", f"after the update: {facts}")
    check(int(facts["blessed_us"]) >= int(facts["ready_us"]) > 0, f"blessed before READY: {facts}")
    check(facts.get("grubenv.B_TRY") == "0" and facts.get("grubenv.B_OK") == "1", f"{facts}")
    check(k.healthz() == 200, "/healthz after the update")
    outbox = k.outbox()
    check(queued(outbox) == SEEDED and outbox.get("bad_blobs") == 0, f"outbox: {outbox}")
    return {
        "version": v2,
        "slot": "B",
        "install_s": round(installed - started, 1),
        "reboot_to_ready_s": round(time.monotonic() - installed, 1),
    }


def wait_for_bundle(k: Kiosk, version: str) -> None:
    """IMAGE_TEST_WAIT=1: bundles are still being built; each gets a `.done` file when ready."""
    marker = Path(str(k.vm.updates)) / f"claim-kiosk_{version}.raucb.done"
    deadline = time.monotonic() + 3600
    while os.environ.get("IMAGE_TEST_WAIT") and not marker.exists():
        check(time.monotonic() < deadline, f"bundle {version} was not built within an hour")
        time.sleep(5)


def step_rollback(k: Kiosk, v2: str, v3: str) -> dict[str, object]:
    wait_for_bundle(k, v3)
    started = time.monotonic()
    k.sh(guest.install(v3, background=False), timeout=limit(900))
    installed = time.monotonic()
    seen: list[str] = []
    old = k.boot_id
    k.reboot()
    deadline = time.monotonic() + limit(600)
    while time.monotonic() < deadline:
        old = k.wait_boot(max(1.0, deadline - time.monotonic()), after=old)
        try:
            facts = k.facts()
        except (GuestError, StepFailed):  # rebooting again already
            continue
        seen.append(f"{facts.get('slot')}:{facts.get('version')}")
        if facts.get("version") == v2:
            break
    facts = k.wait_ready(limit(240))
    check(facts.get("version") == v2 and facts.get("slot") == "B", f"after the rollback: {facts}")
    check(facts.get("grubenv.A_TRY") == "3", f"slot A did not use its tries: {facts}")
    check(any(s.endswith(v3) for s in seen), f"v3 never booted: {seen}")
    check(k.healthz() == 200, "/healthz after the rollback")
    outbox = k.outbox()
    check(queued(outbox) == SEEDED and outbox.get("bad_blobs") == 0, f"outbox: {outbox}")
    return {
        "boots_seen": seen,
        "A_TRY": facts.get("grubenv.A_TRY"),
        "install_s": round(installed - started, 1),
        "reboot_to_rolled_back_ready_s": round(time.monotonic() - installed, 1),
    }


def step_delivery(k: Kiosk) -> dict[str, object]:
    k.receiver.start()
    deadline = time.monotonic() + limit(180)
    outbox: dict[str, object] = {}
    while time.monotonic() < deadline:
        outbox = k.outbox()
        if queued(outbox) == 0 and (k.receiver.stored() or 0) >= SEEDED:
            return {"delivered": k.receiver.stored(), "outbox": outbox.get("states")}
        time.sleep(2)
    raise StepFailed(f"not delivered: outbox {outbox}, central holds {k.receiver.stored()}")


def new_token() -> str:
    return "image-test-" + secrets.token_hex(8)


def work_paths(root: Path) -> tuple[Path, Path]:
    return root / "vm", root / "central"
