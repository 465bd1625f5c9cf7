"""Build the case service's parts: the day-list signer (a file pair) and the case store.

The day-list signer is part of the receiver's identity under the state directory:
``day-list-signer-key.pem`` (0600) and ``day-list-signer.pem``, issued by the
device CA with the ``day-list-signer`` profile on first start (embedded), or by
``appliance-receiver init`` for replicas sharing one identity.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from central.cases.servicer import CaseDesk
from central.cases.sqlite_store import SqliteCaseStore
from central.cases.store import CaseStore
from central.cases.synthetic import DEFAULT_COUNT, MAX_COUNT, SyntheticCases
from central.device_ca import DeviceCA

_PEM = serialization.Encoding.PEM
SIGNER_KEY = "day-list-signer-key.pem"
SIGNER_CERT = "day-list-signer.pem"


class DayListSignerMissing(RuntimeError):
    """A replica's shared identity lacks the day-list signer."""


def day_list_signer(
    root: Path, ca: DeviceCA, *, create: bool = True
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key_path, cert_path = root / SIGNER_KEY, root / SIGNER_CERT
    if cert_path.exists() and key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise DayListSignerMissing(f"{key_path} is not an ECDSA key")
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
    if not create:
        raise DayListSignerMissing(
            f"{cert_path} is missing: add it to the shared identity with"
            f" 'appliance-receiver init --dir {root}'"
        )
    key, cert = ca.issue_day_list_signer()
    key_path.write_bytes(
        key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(_PEM))
    return key, cert


async def open_case_store(root: Path, database: str | None = None) -> CaseStore:
    """SQLite under ``root/cases`` (embedded), or the distributed back end's PostgreSQL."""
    if database is None:
        return SqliteCaseStore(root / "cases" / "cases.sqlite")
    from central.cases.postgres_store import PostgresCaseStore

    store = PostgresCaseStore(database)
    await store.open()
    return store


def parse_synthetic_sites(values: list[str]) -> dict[str, int]:
    """``SITE`` or ``SITE:COUNT`` (open appointments a day) -> {site: count}."""
    sites: dict[str, int] = {}
    for value in values:
        site, _, count = value.partition(":")
        number = int(count) if count else DEFAULT_COUNT
        if not site or not 0 <= number <= MAX_COUNT:
            raise ValueError(f"--synthetic-cases {value!r}: SITE or SITE:COUNT (0-{MAX_COUNT})")
        sites[site] = number
    return sites


def case_desk(
    root: Path,
    ca: DeviceCA,
    store: CaseStore,
    *,
    synthetic_sites: dict[str, int] | None = None,
    create: bool = True,
) -> CaseDesk:
    key, cert = day_list_signer(root, ca, create=create)
    synthetic = SyntheticCases(store, synthetic_sites) if synthetic_sites else None
    return CaseDesk(store=store, signer_key=key, signer_chain=[cert], synthetic=synthetic)
