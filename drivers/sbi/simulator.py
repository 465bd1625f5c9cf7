"""A simulated MOSIP SBI device service on 127.0.0.1: a slap scanner and a face camera.

Run it next to the appliance::

    python -m drivers.sbi.simulator --port 4501 --pki-dir var/sbi-sim

It writes ``var/sbi-sim/ca.pem``, the root the kiosk's ``trust_anchors``
must name, and answers ``MOSIPDISC /device``, ``MOSIPDINFO /info``,
``RCAPTURE /capture`` and ``STREAM /stream`` (``SBIDISC`` / ``SBIINFO`` as
aliases) as :mod:`drivers.sbi.sim_service` describes. Command-line flags set
the faults; tests drive :class:`SbiSimulator` directly and flip
:attr:`SbiSimulator.faults` while it runs.

The M-JPEG stream is written as the MOSIP reference mock writes it
(``boundary=--BoundaryString``, parts with ``Content-Length``), so clients
are tested against what is deployed.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from drivers.sbi.sim_pki import KeyType, SimulatedPki
from drivers.sbi.sim_service import DeviceService, SimulatorFaults, ca_thumbprint

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
BOUNDARY = "--BoundaryString"
MAX_REQUEST_BYTES = 1024 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    service: DeviceService
    stopping: threading.Event


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "ClaimSbiSimulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("SBI simulator: " + format, *args)

    # -- helpers

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_REQUEST_BYTES:
            return {}
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = {}
        body = body if isinstance(body, dict) else {}
        self.server.service.received.append((self.command, body))
        return body

    def _reply(self, payload: object, status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Location", f"http://{HOST}:{self.server.service.port}")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.close_connection = True

    def _delay(self) -> bool:
        """Sleep the injected delay; False when the server stops meanwhile."""
        delay = self.server.service.faults.delay_s
        return not (delay > 0 and self.server.stopping.wait(delay))

    def _path_is(self, *paths: str) -> bool:
        if self.path.rstrip("/") in paths:
            return True
        self._reply({"error": {"errorCode": "500", "errorInfo": "Invalid URL"}}, status=404)
        return False

    # -- SBI methods

    def do_MOSIPDISC(self) -> None:
        body = self._body()
        if self._path_is("/device"):
            self._reply(self.server.service.discover(body))

    do_SBIDISC = do_MOSIPDISC

    def do_MOSIPDINFO(self) -> None:
        body = self._body()
        if self._path_is("/info") and self._delay():
            self._reply(self.server.service.info(body))

    do_SBIINFO = do_MOSIPDINFO

    def do_RCAPTURE(self) -> None:
        body = self._body()
        if self._path_is("/capture") and self._delay():
            self._reply(self.server.service.rcapture(body))

    def do_STREAM(self) -> None:
        body = self._body()
        if not (self._path_is("/stream") and self._delay()):
            return
        service = self.server.service
        device, error = service.stream_check(body)
        if device is None:
            self._reply(error)
            return
        timeout_s = int(str(body.get("timeout") or 300_000)) / 1000
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        deadline = time.monotonic() + timeout_s
        try:
            for jpeg in service.stream_frames(device):
                faults = service.faults
                head = f"{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                if faults.stream_content_length:
                    head += f"Content-Length: {len(jpeg)}\r\n"
                self.wfile.write(head.encode() + b"\r\n" + jpeg + b"\r\n")
                self.wfile.flush()
                pause = 1.0 / max(faults.stream_fps, 0.1)
                if self.server.stopping.wait(pause) or time.monotonic() > deadline:
                    break
            self.wfile.write(f"{BOUNDARY}--\r\n".encode())
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("SBI simulator: stream client went away")


class SbiSimulator:
    """The device service on 127.0.0.1:``port`` (0 = any free port), in a thread."""

    def __init__(
        self,
        port: int = 0,
        *,
        pki: SimulatedPki | None = None,
        spec_versions: tuple[str, ...] = ("0.9.5",),
        subject_seed: int = 1,
        faults: SimulatorFaults | None = None,
    ) -> None:
        self.pki = pki or SimulatedPki()
        self._server = _Server((HOST, port), _Handler)
        self._server.stopping = threading.Event()
        self.port = int(self._server.server_address[1])
        self.service = DeviceService(
            self.pki,
            self.port,
            spec_versions=spec_versions,
            subject_seed=subject_seed,
            faults=faults,
        )
        self._server.service = self.service
        self._thread: threading.Thread | None = None

    @property
    def faults(self) -> SimulatorFaults:
        return self.service.faults

    def write_trust_anchor(self, path: Path) -> Path:
        path.write_bytes(self.pki.root_pem)
        return path

    def rotate_device_key(self, *, foreign_root: bool = False, expired: bool = False) -> None:
        self.service.rotate_device_key(foreign_root=foreign_root, expired=expired)

    def start(self) -> SbiSimulator:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sbi-sim-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> SbiSimulator:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m drivers.sbi.simulator",
        description="Simulated MOSIP SBI device service (slap scanner + face camera) on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=4501, help="port (SBI range 4501-4600)")
    parser.add_argument(
        "--pki-dir",
        type=Path,
        required=True,
        help="directory holding the root CA (ca.pem = the kiosk's trust anchor)",
    )
    parser.add_argument(
        "--key-type",
        choices=["rsa", "ec"],
        default="rsa",
        help="device keys: rsa (RS256) or ec (P-256, ES256)",
    )
    parser.add_argument("--spec-version", choices=["0.9.5", "1.0"], default="0.9.5")
    parser.add_argument("--subject-seed", type=int, default=1, help="the synthetic applicant")
    parser.add_argument("--bad-signature", action="store_true", help="corrupt every signature")
    parser.add_argument("--expired-cert", action="store_true", help="expired device certificate")
    parser.add_argument("--clock-skew", type=float, default=0.0, help="seconds added to timestamps")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--busy", action="store_true", help="report the devices busy")
    parser.add_argument(
        "--rotate-every",
        type=float,
        default=0.0,
        help="rotate the device keys every N seconds (0 = never)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    key_type: KeyType = args.key_type
    pki = SimulatedPki.load_or_create(args.pki_dir, key_type)
    faults = SimulatorFaults(
        bad_signature=args.bad_signature,
        clock_skew_s=args.clock_skew,
        delay_s=args.delay,
        busy=args.busy,
    )
    versions = ("1.0", "0.9.5") if args.spec_version == "1.0" else ("0.9.5",)
    simulator = SbiSimulator(
        args.port, pki=pki, spec_versions=versions, subject_seed=args.subject_seed, faults=faults
    )
    if args.expired_cert:
        simulator.rotate_device_key(expired=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    simulator.start()
    logger.info(
        "SBI simulator on http://%s:%d (SBI %s); trust anchor %s (SHA-256 %s)",
        HOST,
        simulator.port,
        "/".join(versions),
        args.pki_dir / "ca.pem",
        ca_thumbprint(pki),
    )
    next_rotation = time.monotonic() + args.rotate_every
    while not stop.wait(0.5):
        if args.rotate_every and time.monotonic() >= next_rotation:
            simulator.rotate_device_key(expired=args.expired_cert)
            next_rotation += args.rotate_every
    simulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
