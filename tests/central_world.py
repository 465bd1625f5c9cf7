"""A distributed central for tests and benches: real engines, replica processes, kiosks.

Counts are taken from PostgreSQL and S3 directly (psycopg and boto3 here, never the
receiver's code), and every stored packet can be downloaded and opened.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psycopg

from appliance.identity.store import IdentityFiles, LoadedIdentity, provision
from appliance.outbox import Outbox
from appliance.uplink.client import TlsMaterial, Uplink, UplinkSettings, secure_channel
from central.dev_engines import PostgresServer, SeaweedServer
from central.dev_stack import ReplicaProcess, start_replicas
from tests.uplink_world import SECRET, queue_packets


@dataclass
class CentralCluster:
    root: Path
    postgres: PostgresServer
    seaweed: SeaweedServer
    database: str
    bucket: str
    replicas: list[ReplicaProcess]
    tokens: list[str]
    ca_pem: bytes = b""

    @property
    def database_url(self) -> str:
        return self.postgres.url.rsplit("/", 1)[0] + f"/{self.database}"

    def addresses(self) -> list[str]:
        return [r.upload for r in self.replicas]

    def stop(self) -> None:
        for replica in self.replicas:
            replica.stop()

    # ---------------------------------------------------- independent counts

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, connect_timeout=5) as conn:
            return list(conn.execute(query, params).fetchall())  # type: ignore[arg-type]

    def s3(self) -> Any:
        env = self.seaweed.environment()
        return boto3.client(
            "s3",
            endpoint_url=self.seaweed.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        )

    def s3_keys(self, prefix: str = "packets/") -> list[str]:
        client, keys, token = self.s3(), [], None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = client.list_objects_v2(**kwargs)
            keys += [item["Key"] for item in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return keys
            token = page["NextContinuationToken"]

    def s3_object(self, key: str) -> bytes:
        data: bytes = self.s3().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return data


def start_cluster(
    root: Path, postgres: PostgresServer, seaweed: SeaweedServer, replicas: int, tokens: int = 4
) -> CentralCluster:
    """A fresh database and bucket on the shared engines, and ``replicas`` receivers."""
    name = f"c{secrets.token_hex(5)}"
    with psycopg.connect(postgres.url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    database_url = postgres.url.rsplit("/", 1)[0] + f"/{name}"
    token_list = [secrets.token_hex(8) for _ in range(tokens)]
    processes = start_replicas(
        root, database_url, seaweed, replicas, bucket=name, tokens=token_list
    )
    cluster = CentralCluster(root, postgres, seaweed, name, name, processes, token_list)
    cluster.ca_pem = (root / "identity" / "ca" / "ca.pem").read_bytes()
    return cluster


@dataclass
class FleetKiosk:
    root: Path
    identity: LoadedIdentity
    outbox: Outbox
    ids: list[str] = field(default_factory=list)

    def uplink(self, addresses: list[str], **settings: Any) -> Uplink:
        tls = TlsMaterial(
            self.identity.client_key_pem(),
            self.identity.chain_pem(),
            self.identity.trust_anchors_pem,
        )
        channel = secure_channel(addresses, tls)
        return Uplink(
            self.outbox, channel, self.identity.receipt_signer, UplinkSettings(**settings)
        )

    def queue(self, count: int, size: int = 2000) -> list[str]:
        ids = queue_packets(self.outbox, self.identity, count, size, case=self.root.name)
        self.ids += ids
        return ids


async def enrol_kiosk(root: Path, cluster: CentralCluster, token: str, enrol: str) -> FleetKiosk:
    identity = await provision(
        IdentityFiles(root / "identity"),
        central=enrol,
        token=token,
        site_id="CLAIM-T",
        kiosk_name=root.name,
        secret=SECRET,
        central_ca_pem=cluster.ca_pem,
    )
    return FleetKiosk(root, identity, Outbox(root / "outbox", quota_bytes=1 << 30))
