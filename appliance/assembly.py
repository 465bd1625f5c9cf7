"""How the composition root builds its bigger services (no lifecycle here).

:mod:`appliance.app` decides the order and owns start and stop; these functions
only turn the config and already-built services into the next service, so the
root stays readable. Each one fails closed the way production needs: a missing
identity, key, trust store or model stops the start with a message naming it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from appliance.audit.pseudonym import CaseKey
from appliance.capture.chip import ChipCapture
from appliance.capture.devices import DeviceAccess
from appliance.capture.documents import DocumentCapture
from appliance.capture.face import FaceCapture
from appliance.capture.fingers import FingerprintCapture
from appliance.capture.sealing import PacketSealer
from appliance.capture.service import CaptureService
from appliance.config import ApplianceConfig, Profile
from appliance.devices import DeviceSupervisor
from appliance.documents import mrz_models
from appliance.documents.chip.trust import TrustStoreError, trust_store_for
from appliance.documents.mrz_reader import MrzReader
from appliance.face.capture import FaceCaptureService
from appliance.facematch.matcher import FaceMatcher
from appliance.facematch.models import MatchModelError
from appliance.finger.quality import FingerScorer
from appliance.identity.pkcs11_key import PIN_CREDENTIAL, Pkcs11DeviceKey
from appliance.identity.software_key import KeyStoreError, credential_secret
from appliance.identity.store import IdentityFiles, LoadedIdentity, load_identity
from appliance.metrics import ApplianceMetrics, certificate_days_left
from appliance.models_check import StartupError
from appliance.outbox import Outbox
from drivers.interfaces import DeviceState

logger = logging.getLogger(__name__)


def device_identity(config: ApplianceConfig) -> LoadedIdentity | None:
    """The device identity; production fails closed without an acceptable key."""
    files = IdentityFiles(config.storage.state_dir / "identity")
    production = config.profile is Profile.PRODUCTION
    if not files.provisioned():
        if production:
            raise KeyStoreError(f"not provisioned ({files.root}): run 'appliance provision'")
        logger.warning("kiosk not provisioned: captures work, submitting does not")
        return None
    security = config.security
    hsm = None
    if security.key_backend == "pkcs11":
        pin = credential_secret(PIN_CREDENTIAL, minimum=4).decode()
        hsm = Pkcs11DeviceKey(
            security.pkcs11.module, security.pkcs11.token_label, security.pkcs11.key_label, pin
        )
    elif production and not security.allow_software_keys:
        raise KeyStoreError(
            "production needs a hardware-backed device key (TPM/HSM via PKCS#11: "
            "security.key_backend: pkcs11), or security.allow_software_keys: true"
        )
    return load_identity(files, credential_secret(), hsm)


def capture_service(
    config: ApplianceConfig,
    supervisor: DeviceSupervisor,
    metrics: ApplianceMetrics,
    *,
    identity: LoadedIdentity | None,
    outbox: Outbox | None,
    face_engine: FaceCaptureService | None,
    finger_scorer: FingerScorer,
    on_sealed: Callable[[], None] | None,
    on_operation: Callable[[str, dict[str, Any]], None] | None = None,
    case_key: CaseKey | None = None,
) -> CaptureService:
    """The one capture service over the supervised devices and the engines."""
    devices = DeviceAccess(supervisor, metrics)
    quality = config.quality
    sealer = None
    if identity is not None and outbox is not None:
        sealer = PacketSealer(
            outbox,
            identity.identity,
            identity.central_keys[0],
            config.site.claim_id,
            metrics,
            on_sealed=on_sealed,
            case_key=case_key,
        )
    return CaptureService(
        devices,
        FaceCapture(face_engine, metrics, auto_capture_frames=quality.face.auto_capture_frames),
        FingerprintCapture(devices, quality.finger, metrics, finger_scorer),
        DocumentCapture(devices, metrics, mrz_reader()),
        sealer,
        chip_capture(config, devices, metrics),
        on_operation=on_operation,
    )


def mrz_reader() -> MrzReader | None:
    """The MRZ reader; without its models (checked before start) only the demo runs on."""
    if any(verdict != "ok" for verdict in mrz_models.verify().values()):
        logger.warning("MRZ models missing: documents are photographed but not read")
        return None
    return MrzReader()


def chip_capture(
    config: ApplianceConfig, devices: DeviceAccess, metrics: ApplianceMetrics
) -> ChipCapture | None:
    """Chip reading and face match, when the kiosk has a document reader."""
    if config.devices.document_reader is None:
        return None
    chip = config.documents.chip
    try:
        trust = trust_store_for(chip)
        matcher = FaceMatcher(threshold=chip.face_match_threshold)
    except (OSError, ValueError, TrustStoreError, MatchModelError) as exc:
        raise StartupError(f"document chip checks cannot start: {exc}") from None
    return ChipCapture(devices, trust, matcher, chip, metrics)


def scraped_metrics(
    metrics: ApplianceMetrics,
    supervisor: DeviceSupervisor | None,
    outbox: Outbox | None,
    identity: LoadedIdentity | None,
) -> ApplianceMetrics:
    """The gauges read when /metrics is scraped, so they are never stale."""

    def refresh() -> None:
        if outbox is not None:
            status = outbox.status()
            metrics.outbox_depth.set(status.depth)
            metrics.outbox_oldest.set(status.oldest_age_s)
            metrics.outbox_quarantined.set(status.quarantined)
        if supervisor is not None:
            for row in supervisor.statuses():
                ready = row.state in (DeviceState.READY, DeviceState.BUSY)
                metrics.devices_ready.labels(row.role.value).set(1 if ready else 0)
        if identity is not None:
            expiry = identity.identity.chain[0].not_valid_after_utc.timestamp()
            metrics.certificate_days.set(certificate_days_left(expiry))

    metrics.on_scrape(refresh)
    return metrics
