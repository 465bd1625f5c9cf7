"""Shared fixtures for sealing tests: a CA, a device identity and central keys."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from appliance.identity.device import DeviceIdentity
from central.device_ca import DeviceCA
from packet.keys import CentralKeyring, CentralPrivateKey, Suite
from packet.manifest import EnrolmentMeta
from packet.seal import ItemSource, SealResult, seal_packet
from packet.trust import TrustStore


class EcKey:
    backend = "software"
    hardware_backed = False

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())

    def sign(self, data: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes

        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()


META = EnrolmentMeta(
    site_id="CLAIM-TEST-1",
    operator_id="op-7",
    case_reference="AIMA-2026-000123",
    software_version="0.1.0",
    started_at="2026-11-23T10:00:00.000Z",
)


@dataclass
class World:
    ca: DeviceCA
    identity: DeviceIdentity
    central: CentralPrivateKey
    keyring: CentralKeyring
    trust: TrustStore


def make_world(
    suite: Suite = Suite.X25519, *, days: int = 365, not_before: dt.datetime | None = None
) -> World:
    ca = DeviceCA.create()
    key = EcKey()
    cert = ca.issue(key.public_key(), "dev-0001", days=days, not_before=not_before)
    central = CentralPrivateKey.generate("central-2026-11", suite)
    return World(
        ca,
        DeviceIdentity(key, (cert,)),
        central,
        CentralKeyring([central]),
        TrustStore([ca.certificate]),
    )


def sample_items(size: int = 3000) -> list[ItemSource]:
    return [
        ItemSource(
            "face.jpg",
            "face",
            "image/jpeg",
            b"\xff\xd8\xff\xe0" + bytes(range(256)) * (size // 256),
        ),
        ItemSource(
            "right_four.wsq",
            "slap",
            "image/x-wsq",
            b"\xff\xa0\xff\xa8" + b"ridge" * size,
            quality={"nfiq2": 71},
        ),
        ItemSource("transaction.an2", "record", "application/x-ansi-nist", b"1.001:000\x1d" * 50),
    ]


def seal(
    world: World,
    items: list[ItemSource] | None = None,
    chunk_size: int = 4096,
) -> tuple[bytes, SealResult]:
    out = io.BytesIO()
    result = seal_packet(
        out,
        items if items is not None else sample_items(),
        signer=world.identity,
        central_key=world.central.public(),
        meta=META,
        chunk_size=chunk_size,
    )
    return out.getvalue(), result
