"""A loopback central serving CaseService and a kiosk's case directory enrolled against it.

The kiosk is provisioned for site :data:`SITE` through the real ``EnrolDevice``;
its :class:`CaseDirectory` talks to central over mTLS with the device identity,
keeps the day list under ``root/kiosk/cases`` and takes its time from ``clock``
(tests move it). Central's case store is seeded with the synthetic cases of
today (``central.cases.synthetic``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from appliance.cases import CaseDirectory, CaseSettings
from appliance.cases.checkins import CheckInQueue
from appliance.cases.client import CaseClient
from appliance.cases.day_list import DayListStore
from appliance.cases.setup import key_agreement
from appliance.identity.store import IdentityFiles, LoadedIdentity, provision
from appliance.uplink.client import TlsMaterial, secure_channel
from central.cases.servicer import CaseDesk
from central.cases.setup import case_desk, open_case_store
from central.cases.synthetic import Seeded, synthetic_day
from central.server import Receiver, load_or_create_state
from central.state import ReceiverState
from packet.trust import TrustStore

SITE = "CLAIM-T"
ZONE = "Europe/Lisbon"
SECRET = b"0123456789abcdef0123456789abcdef"


@dataclass
class CaseWorld:
    root: Path
    state: ReceiverState
    desk: CaseDesk
    receiver: Receiver
    port: int
    identity: LoadedIdentity
    seeded: list[Seeded]
    now: list[dt.datetime] = field(default_factory=lambda: [dt.datetime.now(dt.UTC)])
    operations: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    directories: list[CaseDirectory] = field(default_factory=list)
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def clock(self) -> dt.datetime:
        return self.now[0]

    def open_cases(self) -> list[Seeded]:
        return [s for s in self.seeded if s[0].status == "open" and s[1][0].site_id == SITE]

    def directory(
        self, pseudonymise: Callable[[str], str] | None = None, **settings: object
    ) -> CaseDirectory:
        tls = TlsMaterial(
            self.identity.client_key_pem(),
            self.identity.chain_pem(),
            self.identity.trust_anchors_pem,
        )
        channel = secure_channel(f"127.0.0.1:{self.port}", tls)
        self.channels.append(channel)
        trust = TrustStore(x509.load_pem_x509_certificates(self.identity.trust_anchors_pem))
        state = self.root / "kiosk" / "cases"
        directory = CaseDirectory(
            CaseClient(channel),
            DayListStore(
                state,
                key_agreement(self.identity),
                trust,
                site_id=SITE,
                device_id=self.identity.identity.device_id,
                clock=self.clock,
            ),
            CheckInQueue(state / "check-ins.sqlite"),
            CaseSettings(time_zone=ZONE, **settings),  # type: ignore[arg-type]
            record_operation=lambda event, fields: self.operations.append((event, fields)),
            pseudonymise=pseudonymise,
            clock=self.clock,
        )
        self.directories.append(directory)
        return directory

    async def central_down(self) -> None:
        await self.receiver.stop(grace=0)

    async def central_up(self) -> None:
        self.receiver = Receiver(self.state, cases=self.desk)
        await self.receiver.start(f"127.0.0.1:{self.port}")


async def make_case_world(root: Path, count: int = 6) -> CaseWorld:
    state = load_or_create_state(root / "central", hosts=["127.0.0.1"])
    desk = case_desk(root / "central", state.ca, await open_case_store(root / "central"))
    today = dt.datetime.now(ZoneInfo(ZONE)).date()
    seeded = synthetic_day(SITE, today, count, ZONE)
    for case, appointments in seeded:
        await desk.store.add_case(case, appointments)
    receiver = Receiver(state, cases=desk)
    port = await receiver.start()
    token = secrets.token_hex(8)
    state.store.add_token(token)
    identity = await provision(
        IdentityFiles(root / "kiosk" / "identity"),
        central=f"127.0.0.1:{receiver.enrol_port}",
        token=token,
        site_id=SITE,
        kiosk_name="k1",
        secret=SECRET,
        central_ca_pem=state.ca.certificate.public_bytes(serialization.Encoding.PEM),
    )
    return CaseWorld(root, state, desk, receiver, port, identity, seeded)


async def close_case_world(world: CaseWorld) -> None:
    for directory in world.directories:
        await directory.stop()
    for channel in world.channels:
        await channel.close(grace=None)
    await world.receiver.stop(grace=0)
    await world.desk.store.close()
    world.state.store.close()


Clock = Callable[[], dt.datetime]
