"""A local distributed central: PostgreSQL, SeaweedFS S3 and N receiver replicas.

``make central`` runs ``python -m central.dev_stack`` (two replicas), prints every
address as JSON and keeps running until Ctrl-C; the fault tests and
``bench/fleet.py`` use :class:`ReplicaProcess` to start, ``kill -9`` and restart
replicas as separate processes, exactly as an operator's supervisor would.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from central.dev_engines import EngineError, SeaweedServer, engines, free_port


@dataclass
class ReplicaProcess:
    """One ``appliance-receiver`` on fixed loopback ports (so a restart keeps them).

    Without ``database``/``objects`` it is the embedded receiver (state in identity_dir).
    """

    identity_dir: Path
    database: str | None
    objects: str | None
    env: dict[str, str]
    tokens: Sequence[str] = ()
    upload_port: int = field(default_factory=free_port)
    enrol_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    started_once: bool = field(default=False, init=False)  # listened once: ports are promised

    @property
    def upload(self) -> str:
        return f"127.0.0.1:{self.upload_port}"

    @property
    def enrol(self) -> str:
        return f"127.0.0.1:{self.enrol_port}"

    def start(self, timeout: float = 60.0) -> None:
        """Start and wait for READY; a first start that dies early retries on fresh ports.

        A port free when it was drawn can be taken before the replica binds it; until a
        replica has listened once its ports are nobody's promise, so a new draw is safe.
        A restart keeps its ports (clients were told them) and fails instead.
        """
        attempts = 1 if self.started_once else 3
        for attempt in range(1, attempts + 1):
            code = self._start_once(timeout)
            if code is None:
                self.started_once = True
                return
            if attempt < attempts:
                self.upload_port, self.enrol_port, self.metrics_port = (
                    free_port(),
                    free_port(),
                    free_port(),
                )
        raise EngineError(f"receiver replica did not start (exit {code})")

    def _start_once(self, timeout: float) -> int | None:
        """None once READY; the exit code if the replica died first."""
        argv = [
            sys.executable,
            "-m",
            "central.main",
            "--dir",
            str(self.identity_dir),
            "--listen",
            self.upload,
            "--enrol-listen",
            self.enrol,
            "--metrics-port",
            str(self.metrics_port),
            "--ready-json",
            "--log-level",
            "WARNING",
        ]
        if self.database is not None and self.objects is not None:
            argv += ["--database", self.database, "--objects", self.objects]
        for token in self.tokens:
            argv.append(f"--token={token}")  # one argument: a token may begin with "-"
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = self.proc.stdout.readline()
        if not line or time.monotonic() > deadline:
            try:
                code = self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise EngineError("receiver replica did not become ready in time") from None
            self.proc.stdout.close()
            return code
        ready = json.loads(line)
        if not ready.get("ready"):
            raise EngineError(f"receiver replica did not start: {ready}")
        return None

    def kill(self) -> None:
        """``kill -9``: no graceful shutdown, in-flight streams break."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()


def init_identity(directory: Path) -> Path:
    """The replicas' shared identity (``appliance-receiver init``); returns the CA path."""
    done = subprocess.run(
        [sys.executable, "-m", "central.main", "init", "--dir", str(directory)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        raise EngineError(f"appliance-receiver init failed: {done.stderr.strip()}")
    return Path(json.loads(done.stdout)["ca"])


def start_replicas(
    root: Path,
    database: str,
    seaweed: SeaweedServer,
    count: int,
    *,
    bucket: str = "central",
    tokens: Sequence[str] = (),
) -> list[ReplicaProcess]:
    init_identity(root / "identity")
    replicas = [
        ReplicaProcess(
            root / "identity",
            database,
            seaweed.objects_url(bucket),
            seaweed.environment(),
            tokens=tokens if number == 0 else (),
        )
        for number in range(count)
    ]
    started: list[ReplicaProcess] = []
    try:
        for replica in replicas:
            replica.start()
            started.append(replica)
    except BaseException:
        for replica in started:
            replica.stop()
        raise
    return replicas


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m central.dev_stack", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--token", action="append", default=[], help="enrolment token")
    args = parser.parse_args(argv)
    tokens = args.token or [secrets.token_hex(8)]
    try:
        with engines() as (postgres, seaweed):
            root = postgres.root.parent
            replicas = start_replicas(root, postgres.url, seaweed, args.replicas, tokens=tokens)
            try:
                print(
                    json.dumps(
                        {
                            "postgres": postgres.url,
                            "s3": seaweed.objects_url(),
                            "s3_credentials": seaweed.environment(),
                            "identity": str(root / "identity"),
                            "ca": str(root / "identity" / "ca" / "ca.pem"),
                            "tokens": tokens,
                            "replicas": [
                                {
                                    "upload": r.upload,
                                    "enrol": r.enrol,
                                    "metrics": f"127.0.0.1:{r.metrics_port}",
                                }
                                for r in replicas
                            ],
                        },
                        indent=2,
                    ),
                    flush=True,
                )
                print("central stack running; Ctrl-C stops it", file=sys.stderr, flush=True)
                stop = threading.Event()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(sig, lambda *_: stop.set())
                stop.wait()
            finally:
                for replica in replicas:
                    replica.stop()
    except (EngineError, OSError) as exc:
        print(f"central stack: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
