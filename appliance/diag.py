"""Diagnostics bundle for technicians: ``appliance diag --out FILE.tar.gz``.

Each section is collected on its own; a failing section records its error
instead of aborting the bundle. Secrets are never included (credential
references only) and log lines pass the same redaction as the JSON logs.
"""

from __future__ import annotations

import io
import json
import platform
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from appliance import __version__
from appliance.logging_setup import redact

SECRET_KEYS = ("secret", "password", "passphrase", "pin", "token", "private")


def _versions() -> dict[str, Any]:
    packages = [
        "grpcio",
        "protobuf",
        "cryptography",
        "fastapi",
        "mediapipe",
        "nbis-py",
        "opencv-contrib-python",
        "pyusb",
        "python-pkcs11",
        "nistitl",
        "wsq",
    ]
    found: dict[str, str | None] = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return {
        "appliance": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": found,
    }


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: ("[removed]" if any(s in k.lower() for s in SECRET_KEYS) else _scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {"note": "no --config given"}
    from appliance.config import load_config

    config = load_config(path)
    return {"valid": True, "config": _scrub(config.model_dump(mode="json"))}


def _allowlist(config_path: Path | None) -> dict[str, Any]:
    from appliance.allowlist import DEFAULT_ALLOWLIST, load_approved

    devices = load_approved(DEFAULT_ALLOWLIST)
    verdicts = []
    if config_path is not None:
        from appliance.config import load_config

        cfg = load_config(config_path).devices
        for role in ("face_camera", "document_camera", "fingerprint_reader"):
            device = getattr(cfg, role)
            if device is None:
                continue
            vid, pid = getattr(device, "vid", None), getattr(device, "pid", None)
            approved = device.type in ("sim", "file") or any(
                d.vid == vid and d.pid == pid for d in devices
            )
            verdicts.append(
                {
                    "role": role,
                    "driver": device.type,
                    "vid": vid,
                    "pid": pid,
                    "approved": approved,
                    "reason": "simulated"
                    if device.type in ("sim", "file")
                    else (
                        "on the allow-list"
                        if approved
                        else "VID:PID not pinned in config or not on the allow-list"
                    ),
                }
            )
    return {"approved_models": [d.__dict__ for d in devices], "configured": verdicts}


def _outbox(state_dir: Path | None) -> dict[str, Any]:
    if state_dir is None or not (state_dir / "outbox" / "outbox.sqlite").exists():
        return {"note": "no outbox found"}
    from appliance.outbox import Outbox

    outbox = Outbox(state_dir / "outbox", quota_bytes=1 << 62)
    try:
        return dict(outbox.status().__dict__)
    finally:
        outbox.close()


def _logs(lines: int = 1000) -> str:
    if shutil.which("journalctl") is None:
        return "journalctl not available\n"
    result = subprocess.run(
        ["journalctl", "-u", "appliance", "-n", str(lines), "-o", "cat", "--no-pager"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return "\n".join(redact(line) for line in (result.stdout or result.stderr).splitlines())


def _self_test_chain(device_key: Any) -> tuple[Any, Any]:
    """A throwaway CA and a device certificate under it (the device profile), self-test only."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from packet.certprofiles import PACKET_SIGNING, ca_key_usage, end_entity_key_usage

    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self-test CA")])

    def build(subject: x509.Name, public: Any, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), True)
            .add_extension(ca_key_usage() if ca else end_entity_key_usage(), True)
        )
        if not ca:
            builder = builder.add_extension(x509.ExtendedKeyUsage([PACKET_SIGNING]), False)
        return builder.sign(ca_key, hashes.SHA256())

    device = x509.Name(
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "self-test"),
            x509.NameAttribute(NameOID.COMMON_NAME, "self-test"),
        ]
    )
    return build(ca_name, ca_key.public_key(), True), build(device, device_key, False)


def _self_test() -> dict[str, Any]:
    """Seal and open a probe packet with throwaway keys: the crypto stack works."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from appliance.identity.device import DeviceIdentity
    from packet.keys import CentralKeyring, CentralPrivateKey
    from packet.manifest import EnrolmentMeta
    from packet.open import DiscardSink, open_packet
    from packet.seal import ItemSource, seal_packet, utc_now
    from packet.trust import TrustStore

    class _Key:
        backend, hardware_backed = "software", False

        def __init__(self) -> None:
            self._key = ec.generate_private_key(ec.SECP256R1())

        def sign(self, data: bytes) -> bytes:
            return self._key.sign(data, ec.ECDSA(hashes.SHA256()))

        def public_key(self) -> ec.EllipticCurvePublicKey:
            return self._key.public_key()

    key = _Key()
    ca_cert, device_cert = _self_test_chain(key.public_key())
    identity = DeviceIdentity(key, (device_cert,))
    central = CentralPrivateKey.generate("self-test")
    meta = EnrolmentMeta("SELF-TEST", "self-test", "SELF-TEST", __version__, utc_now())
    out = io.BytesIO()
    started = time.perf_counter()
    seal_packet(
        out,
        [ItemSource("probe.bin", "record", "application/octet-stream", b"x" * 4096)],
        signer=identity,
        central_key=central.public(),
        meta=meta,
    )
    open_packet(
        io.BytesIO(out.getvalue()),
        CentralKeyring([central]),
        TrustStore([ca_cert]),
        DiscardSink(),
    )
    return {"seal_open_round_trip": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}


def build_bundle(out: Path, config_path: Path | None) -> dict[str, str]:
    state_dir = None
    if config_path is not None:
        try:
            from appliance.config import load_config

            state_dir = load_config(config_path).storage.state_dir
        except Exception:  # the config section will report why
            state_dir = None
    sections: dict[str, Callable[[], Any]] = {
        "versions.json": _versions,
        "config.json": lambda: _config(config_path),
        "devices.json": lambda: _allowlist(config_path),
        "outbox.json": lambda: _outbox(state_dir),
        "logs.txt": _logs,
        "self-test.json": _self_test,
    }
    results: dict[str, str] = {}
    with tarfile.open(out, "w:gz") as tar:
        for name, collect in sections.items():
            try:
                value = collect()
                results[name] = "ok"
            except Exception as exc:
                value = {"error": f"{type(exc).__name__}: {exc}"}
                results[name] = "error"
            data = (
                value.encode()
                if isinstance(value, str)
                else json.dumps(value, indent=2, default=str).encode()
            )
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
    return results
