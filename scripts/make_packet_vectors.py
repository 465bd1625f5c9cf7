"""Regenerate tests/vectors/packet-v1.json (the test vectors of docs/packet-format.md).

Every input that is random in production is fixed here, so each packet can be
reproduced byte for byte by another sealer:

- central's keys, the HPKE ephemeral (X25519: ``ikmE`` -> ``skE`` by RFC 9180
  DeriveKeyPair; X-Wing: the 64-byte ``eseed`` of EncapsulateDerand), the DEK and
  nonce prefix, ``sealed_at`` and every ``captured_at``;
- the device signature is deterministic ECDSA (RFC 6979) and is given with its
  exact input (the manifest bytes).

HPKE with a fixed ephemeral key is done by tests/reference_hpke.py, a second
implementation; the packet itself is written by the production sealer
(``packet.seal.seal_packet``) with those inputs. The device CA and certificate
are made fresh on each run, so a regeneration changes the file; the tests only
check that the file is self-consistent and opens.

    python scripts/make_packet_vectors.py
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from central.device_ca import DeviceCA  # noqa: E402
from packet import format as fmt  # noqa: E402
from packet.keys import CentralPrivateKey, Suite  # noqa: E402
from packet.manifest import EnrolmentMeta  # noqa: E402
from packet.seal import ItemSource, seal_packet  # noqa: E402
from tests.reference_hpke import seal_base, x25519_derive_key_pair  # noqa: E402

PACKET_ID = "0192f3a1-7b2c-7d3e-8f40-123456789abc"
SEALED_AT = "2026-01-02T03:05:00.000Z"
OPEN_AT = "2030-01-01T00:00:00.000Z"
META = EnrolmentMeta(
    "CLAIM-VECTOR-1", "operator-1", "CASE-0001", "0.1.0", "2026-01-02T03:04:05.000Z"
)
ITEMS = [
    (
        "face.jpg",
        "face",
        "image/jpeg",
        "2026-01-02T03:04:10.250Z",
        b"\xff\xd8\xff\xe0 synthetic face",
    ),
    (
        "record.an2",
        "record",
        "application/x-ansi-nist",
        "2026-01-02T03:04:55.000Z",
        b"1.001:172\x1d1.002:0500\x1c",
    ),
]
SIGNATURE_ALGORITHM = "ECDSA P-256, SHA-256, deterministic k (RFC 6979), DER (X9.62)"


def fixed(label: str, length: int) -> bytes:
    """Published, reproducible 'random' bytes: SHAKE256 of a label."""
    return hashlib.shake_256(b"aima packet vectors/" + label.encode()).digest(length)


class DeterministicSigner:
    """A device signer with RFC 6979 ECDSA, so the signature is reproducible."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self.key, self.cert = key, cert

    @property
    def device_id(self) -> str:
        return str(self.cert.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)[0].value)

    @property
    def certificate_chain_der(self) -> tuple[bytes, ...]:
        return (self.cert.public_bytes(serialization.Encoding.DER),)

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))


def central_key(suite: Suite) -> CentralPrivateKey:
    if suite is Suite.X25519:
        return CentralPrivateKey(
            "vector-x25519", suite, x25519_derive_key_pair(fixed("central x25519 ikm", 32))
        )
    return CentralPrivateKey("vector-xwing", suite, fixed("central x-wing seed", 32))


def ephemeral(suite: Suite) -> dict[str, bytes]:
    if suite is Suite.X25519:
        ikm = fixed("ephemeral x25519 ikm", 32)
        return {"ikmE": ikm, "skE": x25519_derive_key_pair(ikm)}
    return {"eseed": fixed("ephemeral x-wing eseed", 64)}


def seal_vector(
    suite: Suite, signer: DeterministicSigner, items: list[ItemSource]
) -> dict[str, Any]:
    """Seal one packet from fixed inputs; return it with every intermediate value."""
    central = central_key(suite)
    eph = ephemeral(suite)
    secret = fixed(f"dek and prefix {suite.value}", fmt.DEK_LENGTH + fmt.NONCE_PREFIX_LENGTH)
    traces = []

    def wrap(plaintext: bytes, info: bytes) -> bytes:
        trace = seal_base(
            suite.ids[0],
            central.public().raw,
            eph.get("skE", eph.get("eseed", b"")),
            info,
            plaintext,
        )
        traces.append((info, plaintext, trace))
        return trace.ciphertext

    out = io.BytesIO()
    result = seal_packet(
        out,
        items,
        signer=signer,
        central_key=central.public(),
        meta=META,
        packet_id=PACKET_ID,
        chunk_size=1024,
        wrap_key=wrap,
        packet_secret=secret,
        sealed_at=SEALED_AT,
    )
    info, plaintext, trace = traces[0]
    manifest = result.manifest.to_bytes()
    kem, kdf, aead = suite.ids
    return {
        "suite": suite.value,
        "kem_id": f"0x{kem:04X}",
        "kdf_id": f"0x{kdf:04X}",
        "aead_id": f"0x{aead:04X}",
        "central_private_key": central.to_json(),
        "header": info[len(fmt.HPKE_INFO_LABEL) :].decode(),
        "hpke": {
            **{f"{name}_hex": value.hex() for name, value in eph.items()},
            "info_hex": info.hex(),
            "plaintext_hex": plaintext.hex(),
            "enc_hex": trace.enc.hex(),
            "shared_secret_hex": trace.shared_secret.hex(),
            "key_hex": trace.key.hex(),
            "base_nonce_hex": trace.base_nonce.hex(),
            "wrapped_key_hex": trace.ciphertext.hex(),
        },
        "dek_hex": secret[: fmt.DEK_LENGTH].hex(),
        "nonce_prefix_hex": secret[fmt.DEK_LENGTH :].hex(),
        "manifest": manifest.decode(),
        "signature": {
            "algorithm": SIGNATURE_ALGORITHM,
            "input": "the manifest bytes above",
            "der_hex": signer.sign(manifest).hex(),
        },
        "packet_hex": out.getvalue().hex(),
        "packet_sha256": result.sha256,
    }


def main() -> None:
    ca = DeviceCA.create(days=36500)
    device_key = ec.derive_private_key(
        int.from_bytes(fixed("device key", 32), "big") % (2**255), ec.SECP256R1()
    )
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = ca.issue(device_key.public_key(), "dev-vector-1", days=36500, not_before=start)
    signer = DeterministicSigner(device_key, cert)
    items = [ItemSource(n, t, f, d, captured_at=c) for n, t, f, c, d in ITEMS]
    payload = {
        "ca_certificate_pem": ca.certificate.public_bytes(serialization.Encoding.PEM).decode(),
        "open_at": OPEN_AT,
        "device": {
            "device_id": "dev-vector-1",
            "certificate_b64": base64.b64encode(
                cert.public_bytes(serialization.Encoding.DER)
            ).decode(),
            "private_key_pkcs8_b64": base64.b64encode(
                device_key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ).decode(),
        },
        "meta": {
            "site_id": META.site_id,
            "operator_id": META.operator_id,
            "case_reference": META.case_reference,
            "software_version": META.software_version,
            "started_at": META.started_at,
        },
        "sealed_at": SEALED_AT,
        "items": [
            {"name": n, "type": t, "format": f, "captured_at": c, "data_hex": d.hex()}
            for n, t, f, c, d in ITEMS
        ],
        "packets": [seal_vector(suite, signer, items) for suite in Suite],
    }
    path = ROOT / "tests" / "vectors" / "packet-v1.json"
    path.write_text(json.dumps(payload, indent=1) + "\n")
    print(path)


if __name__ == "__main__":
    main()
