"""A loopback central receiver and a provisioned kiosk, for uplink tests."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives import serialization

from appliance.identity.store import IdentityFiles, LoadedIdentity, provision
from appliance.outbox import Outbox
from appliance.uplink.client import TlsMaterial, Uplink, UplinkSettings, secure_channel
from central.server import Receiver, load_or_create_state
from central.service import ReceiverState
from packet.manifest import EnrolmentMeta, uuid7
from packet.seal import ItemSource, seal_packet

SECRET = b"0123456789abcdef0123456789abcdef"


@dataclass
class Kiosk:
    root: Path
    state: ReceiverState
    receiver: Receiver
    port: int
    identity: LoadedIdentity
    outbox: Outbox

    def uplink(self, **settings: object) -> Uplink:
        tls = TlsMaterial(
            self.identity.client_key_pem(),
            self.identity.chain_pem(),
            self.identity.trust_anchors_pem,
        )
        channel = secure_channel(f"127.0.0.1:{self.port}", tls)
        return Uplink(
            self.outbox, channel, self.identity.receipt_signer, UplinkSettings(**settings)
        )  # type: ignore[arg-type]

    def queue(self, count: int = 1, size: int = 2000, case: str = "CASE") -> list[str]:
        return queue_packets(self.outbox, self.identity, count, size, case)

    def delivered(self) -> list[str]:
        return [p.packet_id for p in self.state.store.all_packets()]

    async def restart_receiver(self) -> None:
        await self.receiver.stop(grace=0)
        self.receiver = Receiver(self.state)
        await self.receiver.start(f"127.0.0.1:{self.port}")


def queue_packets(
    outbox: Outbox, identity: LoadedIdentity, count: int = 1, size: int = 2000, case: str = "CASE"
) -> list[str]:
    """Seal ``count`` synthetic packets (random bytes, no biometrics) into ``outbox``."""
    ids = []
    for number in range(count):
        packet_id = uuid7()
        meta = EnrolmentMeta(
            "CLAIM-T", "op", f"{case}-{packet_id}", "0.1.0", "2026-11-23T10:00:00.000Z"
        )
        items = [
            ItemSource(
                "face.jpg",
                "face",
                "image/jpeg",
                secrets.token_bytes(size) + bytes([number % 256]),
            )
        ]

        def write(handle: BinaryIO, items=items, meta=meta, packet_id=packet_id):  # type: ignore[no-untyped-def]
            result = seal_packet(
                handle,
                items,
                signer=identity.identity,
                central_key=identity.central_keys[0],
                meta=meta,
                packet_id=packet_id,
            )
            return result.size, result.sha256

        outbox.add(packet_id, write)
        ids.append(packet_id)
    return ids


async def make_kiosk(root: Path, quota: int = 1 << 30) -> Kiosk:
    state = load_or_create_state(root / "central", hosts=["127.0.0.1"])
    receiver = Receiver(state)
    port = await receiver.start()
    token = secrets.token_hex(8)
    state.store.add_token(token)
    identity = await provision(
        IdentityFiles(root / "kiosk" / "identity"),
        central=f"127.0.0.1:{receiver.enrol_port}",
        token=token,
        site_id="CLAIM-T",
        kiosk_name="k1",
        secret=SECRET,
        central_ca_pem=state.ca.certificate.public_bytes(serialization.Encoding.PEM),
    )
    outbox = Outbox(root / "kiosk" / "outbox", quota_bytes=quota)
    return Kiosk(root, state, receiver, port, identity, outbox)


async def close(kiosk: Kiosk) -> None:
    await kiosk.receiver.stop(grace=0)
    kiosk.outbox.close()
    kiosk.state.store.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def wait_for(predicate, limit: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)
