"""Host side of the image test: the reference receiver and the update medium.

The receiver listens on 127.0.0.1 only; the guest reaches it through QEMU user
networking at 10.0.2.2 (slirp maps it to the host's loopback). The bundles reach
the guest as a read-only shared folder (virtio 9p), like a technician's USB stick.
"""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path

from central.dev_engines import free_port

GUEST_HOST = "10.0.2.2"


class Receiver:
    """``appliance-receiver`` (the packaged reference central) as a child process."""

    def __init__(
        self, binary: Path, state: Path, token: str, ports: dict[str, int] | None = None
    ) -> None:
        self.binary = binary
        self.state = state
        self.token = token
        # A resumed run keeps its ports: the kiosk's config names the upload port.
        ports = ports or {}
        self.listen = ports.get("listen") or free_port()
        self.enrol = ports.get("enrol") or free_port()
        self.metrics = ports.get("metrics") or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = state.parent / "receiver.log"

    @property
    def ports(self) -> dict[str, int]:
        return {"listen": self.listen, "enrol": self.enrol, "metrics": self.metrics}

    def start(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "--dir", str(self.state),
                 "--listen", f"127.0.0.1:{self.listen}",
                 "--enrol-listen", f"127.0.0.1:{self.enrol}",
                 "--host", GUEST_HOST, "--token", self.token,
                 "--metrics-port", str(self.metrics), "--log-level", "WARNING"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.stored() is not None:
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"appliance-receiver exited; see {self.log}")
            time.sleep(0.2)
        raise RuntimeError("appliance-receiver did not start within 30 s")

    def stored(self) -> int | None:
        """Packets this receiver accepted since it started (its Prometheus gauge);
        None while it is not up."""
        url = f"http://127.0.0.1:{self.metrics}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body = response.read(1 << 20).decode()
        except OSError:
            return None
        for line in body.splitlines():
            if line.startswith("receiver_packets_accepted "):
                return int(float(line.split()[1]))
        return None

    @property
    def ca(self) -> Path:
        return self.state / "ca" / "ca.pem"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
