"""A kiosk VM in QEMU/KVM (UEFI via OVMF) and the QEMU guest agent that drives it.

The disk is a qcow2 overlay on the built image, so the image itself is never
written. The guest agent (virtio-serial, test image only) runs commands in the
guest; the network is QEMU user mode with the kiosk web port forwarded to
127.0.0.1 only. Killing QEMU (SIGKILL) is the power cut.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

#: OVMF as one ROM image (-bios), not split pflash: nested KVM without read-only
#: memory slots cannot execute from a pflash ROM device ("KVM internal error ...
#: emulation failure" at the firmware's first FPU instruction). The kiosk keeps no
#: state in EFI variables (GRUB boots from the ESP's removable-media path; the A/B
#: state is grubenv), so non-persistent variables lose nothing.
OVMF = Path("/usr/share/ovmf/OVMF.fd")


def kvm_runs_firmware(seconds: float = 5.0) -> bool:
    """Whether KVM here can run OVMF (a PVM-style /dev/kvm opens but cannot)."""
    return kvm_firmware_problem(seconds) is None


def kvm_firmware_problem(seconds: float = 5.0) -> str | None:
    """Why KVM here cannot run OVMF (QEMU's first error line), or None if it can.

    QEMU boots the firmware alone for ``seconds``: KVM works if it is still running
    then without a KVM error. Nested hosts fail in more than one way: "KVM internal
    error ... emulation failure" (PVM-style), or an abort while setting up the vCPU
    ("failed to set MSR 0x10a ... Assertion ... failed").
    """
    probe = subprocess.Popen(
        ["qemu-system-x86_64", "-machine", "q35,accel=kvm", "-cpu", "host", "-m", "256",
         "-nodefaults", "-display", "none", "-bios", str(OVMF), "-no-reboot"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _, err = probe.communicate(timeout=seconds)
        exited = True
    except subprocess.TimeoutExpired:
        probe.kill()
        _, err = probe.communicate()
        exited = False
    lines = [line.strip() for line in err.decode(errors="replace").splitlines() if line.strip()]
    broken = [line for line in lines if "KVM internal error" in line or "emulation failure" in line]
    if broken:
        return broken[0]
    if exited:
        return lines[0] if lines else f"QEMU exited at once (status {probe.returncode})"
    return None


if __name__ == "__main__":  # scripts/image-test-preflight.sh: one line and status 1 if not
    import sys

    problem = kvm_firmware_problem()
    if problem is not None:
        print(problem)
    sys.exit(0 if problem is None else 1)


class GuestError(Exception):
    """The guest did not answer, or a command failed."""


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


class Agent:
    """QEMU guest agent client (JSON over the virtio-serial chardev socket)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.sync_id = int(time.time()) % 100000

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.buffer = b""

    def _connect(self) -> socket.socket:
        if self.sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(self.path))
            self.sock = sock
        return self.sock

    def _read_reply(self, deadline: float) -> dict[str, object]:
        sock = self._connect()
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise GuestError("guest agent timed out")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                raise GuestError("guest agent timed out") from None
            if not chunk:
                self.close()
                raise GuestError("guest agent socket closed")
            self.buffer += chunk.replace(b"\xff", b"")
            if len(self.buffer) > 64 << 20:
                raise GuestError("guest agent reply too large")
        line, self.buffer = self.buffer.split(b"\n", 1)
        reply: dict[str, object] = json.loads(line) if line.strip() else {}
        return reply

    def sync(self, timeout: float) -> None:
        """Resynchronise (after a guest reboot, stale replies may be queued)."""
        self.sync_id += 1
        deadline = time.monotonic() + timeout
        self.buffer = b""
        self._connect().sendall(
            json.dumps(
                {"execute": "guest-sync-delimited", "arguments": {"id": self.sync_id}}
            ).encode()
        )
        while True:
            reply = self._read_reply(deadline)
            if reply.get("return") == self.sync_id:
                return

    def call(self, command: str, timeout: float = 30.0, **arguments: object) -> object:
        deadline = time.monotonic() + timeout
        message = (
            {"execute": command, "arguments": arguments} if arguments else {"execute": command}
        )
        self._connect().sendall(json.dumps(message).encode())
        while True:
            reply = self._read_reply(deadline)
            if "error" in reply:
                raise GuestError(f"{command}: {reply['error']}")
            if "return" in reply:
                return reply["return"]

    def run(self, script: str, timeout: float = 120.0, stdin: bytes | None = None) -> Result:
        """Run ``sh -c script`` as root in the guest and wait for it."""
        arguments: dict[str, object] = {
            "path": "/bin/sh",
            "arg": ["-c", script],
            "capture-output": True,
        }
        if stdin is not None:
            arguments["input-data"] = base64.b64encode(stdin).decode()
        started = self.call("guest-exec", **arguments)
        assert isinstance(started, dict)
        pid = started["pid"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.call("guest-exec-status", pid=pid)
            assert isinstance(status, dict)
            if status.get("exited"):
                out = base64.b64decode(str(status.get("out-data", ""))).decode(errors="replace")
                err = base64.b64decode(str(status.get("err-data", ""))).decode(errors="replace")
                return Result(int(status.get("exitcode", -1)), out, err)
            time.sleep(0.2)
        raise GuestError(f"guest command timed out after {timeout:.0f} s: {script[:80]}")


class Vm:
    """One kiosk VM: start, wait for the agent, power-cut, stop."""

    def __init__(
        self,
        work: Path,
        image: Path,
        web_port: int,
        *,
        accel: str = "kvm",
        updates: Path | None = None,
        memory_mb: int = 2048,
    ) -> None:
        self.work = work
        self.accel = accel
        self.updates = updates
        self.web_port = web_port
        self.memory_mb = memory_mb
        self.disk = work / "disk.qcow2"
        self.serial = work / "serial.log"
        self.agent_path = work / "qga.sock"
        self.process: subprocess.Popen[bytes] | None = None
        self.agent = Agent(self.agent_path)
        work.mkdir(parents=True, exist_ok=True)
        if self.disk.exists():  # a resumed run (image-test.py --work DIR --from STEP)
            return
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", str(image),
             str(self.disk)],
            check=True,
        )  # fmt: skip

    def start(self) -> None:
        self.agent.close()
        self.agent_path.unlink(missing_ok=True)
        command = [
            "qemu-system-x86_64", "-machine", f"q35,accel={self.accel}",
            "-cpu", "host" if self.accel == "kvm" else "max", "-smp", "2",
            "-m", str(self.memory_mb), "-nodefaults", "-display", "none",
            "-bios", str(OVMF),
            "-drive", f"if=virtio,format=qcow2,file={self.disk}",
            "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.web_port}-:8080",
            "-device", "virtio-net-pci,netdev=n0",
            "-device", "virtio-rng-pci",
            "-chardev", f"socket,id=qga0,path={self.agent_path},server=on,wait=off",
            "-device", "virtio-serial-pci",
            "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
            "-chardev", f"file,id=ser0,path={self.serial},append=on",
            "-serial", "chardev:ser0",
        ]  # fmt: skip
        if self.updates is not None:  # the update medium: the bundles' folder, read-only (9p)
            command += [
                "-virtfs",
                f"local,path={self.updates},mount_tag=updates,security_model=none,readonly=on",
            ]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.agent_path.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise GuestError(f"qemu did not start (exit {self.process.poll()})")
            time.sleep(0.05)

    def wait_agent(self, timeout: float) -> None:
        """Until the guest agent answers (the guest has booted to multi-user)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise GuestError("qemu exited while waiting for the guest")
            try:
                self.agent.sync(timeout=min(3.0, max(0.1, deadline - time.monotonic())))
                return
            except (GuestError, OSError):
                self.agent.close()
                time.sleep(0.5)
        raise GuestError(f"guest agent did not answer within {timeout:.0f} s")

    def power_cut(self) -> None:
        """SIGKILL QEMU: the guest loses everything not yet handed to the virtual disk."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.agent.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.power_cut()
        self.agent.close()
