"""Regenerate tests/vectors/packet-v1.json (the test vectors of docs/packet-format.md).

Deterministic parts (header, preamble, AAD, HPKE info, nonces, chunk
ciphertexts under a fixed key) are recomputed and checked by the tests on
every run. The full sealed packet cannot be deterministic (HPKE draws a fresh
ephemeral key), so it is generated once with fixed long-lived keys and kept:
an implementation must open it and get exactly the listed items.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from appliance.identity.device import DeviceIdentity  # noqa: E402
from central.device_ca import DeviceCA  # noqa: E402
from packet.keys import CentralPrivateKey, Suite  # noqa: E402
from packet.manifest import EnrolmentMeta  # noqa: E402
from packet.seal import ItemSource, seal_packet  # noqa: E402


class _Key:
    backend = "software"
    hardware_backed = False

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        self._key = key

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()


def main() -> None:
    ca = DeviceCA.create(days=36500)
    device_key = ec.generate_private_key(ec.SECP256R1())
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = ca.issue(device_key.public_key(), "dev-vector-1", days=36500, not_before=start)
    identity = DeviceIdentity(_Key(device_key), (cert,))
    vectors = []
    items = [
        ("face.jpg", "face", "image/jpeg", b"\xff\xd8\xff\xe0 synthetic face bytes"),
        ("record.an2", "record", "application/x-ansi-nist", b"1.001:172\x1d1.002:0502\x1c"),
    ]
    meta = EnrolmentMeta(
        "CLAIM-VECTOR-1", "operator-1", "CASE-0001", "0.1.0", "2026-01-02T03:04:05.000Z"
    )
    for suite in Suite:
        central = CentralPrivateKey.generate(f"vector-{suite.name.lower()}", suite)
        out = io.BytesIO()
        seal_packet(
            out,
            [ItemSource(n, t, f, d) for n, t, f, d in items],
            signer=identity,
            central_key=central.public(),
            meta=meta,
            packet_id="0192f3a1-7b2c-7d3e-8f40-123456789abc",
            chunk_size=1024,
        )
        vectors.append(
            {
                "suite": suite.value,
                "central_private_key": central.to_json(),
                "packet_hex": out.getvalue().hex(),
                "items": [{"name": n, "data_hex": d.hex()} for n, _, _, d in items],
            }
        )
    payload = {
        "ca_certificate_pem": ca.certificate.public_bytes(serialization.Encoding.PEM).decode(),
        "open_at": "2030-01-01T00:00:00Z",
        "packets": vectors,
        "device_certificate_b64": base64.b64encode(
            cert.public_bytes(serialization.Encoding.DER)
        ).decode(),
    }
    path = ROOT / "tests" / "vectors" / "packet-v1.json"
    path.write_text(json.dumps(payload, indent=1) + "\n")
    print(path)


if __name__ == "__main__":
    main()
