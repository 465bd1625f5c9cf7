"""Build the kiosk's case directory from the config and the device identity.

Production fails closed: a device key that cannot do ECDH (a PKCS#11 key without
CKA_DERIVE, a token without CKM_ECDH1_DERIVE) cannot keep the day list at rest,
so the start stops naming it; the demo profile runs without an offline list.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import grpc
from cryptography import x509

from appliance.cases.checkins import CheckInQueue
from appliance.cases.client import CaseClient
from appliance.cases.day_list import DayListStore
from appliance.cases.sealed_file import KeyAgreement, SealedFileError, seal, unseal
from appliance.cases.service import CaseDirectory, CaseSettings, RecordOperation
from appliance.config import ApplianceConfig, Profile
from appliance.identity.pkcs11_key import Pkcs11DeviceKey
from appliance.identity.software_key import KeyStoreError, SoftwareDeviceKey
from appliance.identity.store import LoadedIdentity
from appliance.models_check import StartupError
from packet.trust import TrustStore

logger = logging.getLogger(__name__)


def key_agreement(identity: LoadedIdentity) -> KeyAgreement:
    """The device key, as a key that can do ECDH (both backends can)."""
    key = identity.identity.key
    if not isinstance(key, SoftwareDeviceKey | Pkcs11DeviceKey):
        raise StartupError(f"the {key.backend} device key cannot keep the day list at rest")
    return key


def probe(key: KeyAgreement) -> None:
    """Seal and unseal a few bytes: the key's ECDH works (one token operation)."""
    context = b"probe"
    if unseal(key, context, seal(key.public_key(), context, b"probe")) != b"probe":
        raise SealedFileError("the sealed-file round trip returned other bytes")


async def start_case_directory(
    config: ApplianceConfig,
    identity: LoadedIdentity,
    channel: grpc.aio.Channel,
    on_stop: Callable[[str, Callable[[], Awaitable[None]]], None],
    record_operation: RecordOperation,
    pseudonymise: Callable[[str], str] | None = None,
) -> CaseDirectory | None:
    """The composition root's step: build, start, and register the stop (None: demo, no ECDH)."""
    production = config.profile is Profile.PRODUCTION
    directory = await build_case_directory(
        config,
        identity,
        channel,
        production=production,
        record_operation=record_operation,
        pseudonymise=pseudonymise,
    )
    if directory is not None:
        await directory.start()
        on_stop("cases", directory.stop)
    return directory


async def build_case_directory(
    config: ApplianceConfig,
    identity: LoadedIdentity,
    channel: grpc.aio.Channel,
    *,
    production: bool,
    record_operation: RecordOperation,
    pseudonymise: Callable[[str], str] | None = None,
) -> CaseDirectory | None:
    key = key_agreement(identity)
    try:
        probe(key)
    except (KeyStoreError, SealedFileError) as exc:
        if production:
            raise StartupError(f"the device key cannot seal the day list at rest: {exc}") from None
        logger.warning("no offline day list: the device key cannot do ECDH (%s)", exc)
        return None
    directory = config.storage.state_dir / "cases"
    trust = TrustStore(x509.load_pem_x509_certificates(identity.trust_anchors_pem))
    cases = config.cases
    return CaseDirectory(
        CaseClient(channel),
        DayListStore(
            directory,
            key,
            trust,
            site_id=config.site.claim_id,
            device_id=identity.identity.device_id,
        ),
        CheckInQueue(directory / "check-ins.sqlite"),
        CaseSettings(
            time_zone=config.site.timezone,
            lookup_timeout_s=cases.lookup_timeout_s,
            day_list_refresh_s=cases.day_list_refresh_s,
            checkin_retry_max_s=cases.checkin_retry_max_s,
        ),
        record_operation=record_operation,
        pseudonymise=pseudonymise,
    )
