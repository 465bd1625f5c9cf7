"""The appliance configuration: one strict, documented pydantic model.

Unknown keys are rejected everywhere (``extra="forbid"``) so a misspelt key is
an error, not a silently ignored setting. Every field carries a description;
``appliance config schema`` publishes the JSON schema built from them.
Secrets are never inline: they are referenced by systemd credential name and
read from ``$CREDENTIALS_DIRECTORY`` at start-up.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from appliance.config.cases import CasesConfig
from appliance.config.documents import DocumentsConfig
from appliance.config.quality import QualityConfig
from drivers.registry import CameraConfig, DocumentReaderConfig, PrinterConfig, ReaderConfig


class Strict(BaseModel):
    """Base for every config section: unknown keys rejected, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Profile(enum.StrEnum):
    DEMO = "demo"
    PRODUCTION = "production"


class SiteConfig(Strict):
    """Where the kiosk stands."""

    claim_id: str = Field(
        description="Identifier of the CLAIM 2G centre (e.g. 'CLAIM-LSB-014').",
        min_length=3,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
    )
    municipality: str = Field(description="Municipality name as AIMA lists it.", min_length=1)
    kiosk_name: str = Field(
        default="kiosk-1", description="Human name of this kiosk within the centre (counter label)."
    )
    timezone: str = Field(
        default="Europe/Lisbon",
        description="IANA time zone of the site: its calendar day bounds the day's "
        "appointment list (purged at midnight). 'Atlantic/Azores' on the Azores.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class TlsConfig(Strict):
    """TLS material for the central connection (paths, never inline secrets)."""

    ca_bundle: Path | None = Field(
        default=None,
        description="PEM bundle of CAs that sign the central service's certificate. "
        "Unset: the CA bundle stored at provisioning time is used.",
    )
    server_name_override: str | None = Field(
        default=None, description="Expected TLS server name when it differs from the host."
    )


class CentralConfig(Strict):
    """The central enrolment service this kiosk streams to."""

    endpoint: str = Field(
        description="host:port of the central gRPC service. A DNS name that resolves to "
        "several replicas is balanced round_robin across all of them.",
        examples=["enrolment.aima.example:443"],
    )
    endpoints: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="Further central replicas (IP:port each, with endpoint an IP:port too); "
        "the kiosk balances round_robin over all addresses and skips unhealthy ones.",
        examples=[["10.20.0.11:50443", "10.20.0.12:50443"]],
    )
    health_check: bool = Field(
        default=True,
        description="Use a replica only while its gRPC health service reports SERVING "
        "(central reports NOT_SERVING when it loses its database or object store).",
    )
    tls: TlsConfig = Field(default_factory=TlsConfig, description="TLS settings.")

    @field_validator("endpoint")
    @classmethod
    def _host_port(cls, value: str) -> str:
        return _host_port(value)

    @field_validator("endpoints")
    @classmethod
    def _host_ports(cls, values: list[str]) -> list[str]:
        return [_host_port(value) for value in values]

    @model_validator(mode="after")
    def _replicas_are_ip_addresses(self) -> CentralConfig:
        if self.endpoints:
            for address in self.addresses():
                host = address.rsplit(":", 1)[0].strip("[]")
                try:
                    ipaddress.ip_address(host)
                except ValueError:
                    raise ValueError(
                        f"central.endpoints: {address} is not an IP address; several replicas "
                        "are listed by IP, or published as one DNS name in endpoint"
                    ) from None
        return self

    def addresses(self) -> list[str]:
        """Every central address, for ``appliance.uplink.client.secure_channel``."""
        return [self.endpoint, *self.endpoints]


def _host_port(value: str) -> str:
    if not re.fullmatch(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}", value):
        raise ValueError("must be host:port")
    port = int(value.rsplit(":", 1)[1])
    if not 0 < port < 65536:
        raise ValueError("port must be 1-65535")
    return value


class DevicesConfig(Strict):
    """Which drivers run the kiosk's devices. Each entry selects a driver by ``type``."""

    face_camera: CameraConfig = Field(description="The camera facing the applicant.")
    document_camera: CameraConfig | None = Field(
        default=None, description="Optional document camera; unset uses the face camera."
    )
    fingerprint_reader: ReaderConfig = Field(description="The ten-print reader.")
    document_reader: DocumentReaderConfig | None = Field(
        default=None,
        description="Contactless reader for passport / residence-permit chips (PC/SC); "
        "unset: the documents step offers no 'read chip'.",
    )
    receipt_printer: PrinterConfig | None = Field(
        default=None,
        description="Optional receipt printer (type escpos or sim); unset: the receipt is "
        "printed from the browser (CUPS).",
    )
    allowlist: Path | None = Field(
        default=None,
        description="Approved-device allow-list (YAML). Unset: the packaged firmware_config list.",
    )
    restart_budget: int = Field(
        default=5, ge=0, le=100, description="Device restarts allowed within restart_window_s."
    )
    restart_window_s: float = Field(
        default=60.0, gt=0, description="Window over which restart_budget is counted."
    )


class StorageConfig(Strict):
    """Where the appliance keeps state. Only sealed packets are ever written."""

    state_dir: Path = Field(
        description="Root of the appliance's state (outbox, identity, sessions). "
        "systemd's StateDirectory= in production."
    )
    quota_mb: int = Field(default=4096, ge=16, description="Disk space the outbox may use, in MiB.")
    warn_percent: int = Field(
        default=80,
        ge=1,
        le=99,
        description="Outbox fill level (percent of quota) at which operators are warned.",
    )


class RetentionConfig(Strict):
    """How long things are kept after delivery.

    The daemon writes no log files of its own: it logs to journald, whose
    retention (``MaxRetentionSec=``, shipped in ``systemd/journald.conf.d/``)
    applies. There is therefore no log-retention key here.
    """

    tombstone_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days a delivered packet's id and receipt are kept (proof of delivery).",
    )
    enrolment_hours: int = Field(
        default=12,
        ge=1,
        le=72,
        description="An enrolment left untouched this long is ended (cancelled, or cleared once "
        "sealed) and its workflow file, which holds the case reference, deleted.",
    )


class AuditConfig(Strict):
    """The record of operations and the service ledger (docs/audit-log.md)."""

    checkpoint_interval_s: float = Field(
        default=300.0,
        ge=5.0,
        le=3600.0,
        description="Sign a checkpoint (tree head) of the record of operations at least this "
        "often while it grows, and send new entries, checkpoints and changed daily ledgers to "
        "central; a submit does so at once.",
    )
    retention_days: int = Field(
        default=90,
        ge=31,
        le=3650,
        description="Days the record of operations and the signed daily ledgers stay on the "
        "kiosk. Entries are deleted (whole days) only once older than this and held by a "
        "checkpoint central accepted; at least 31 days, for the supervisor's monthly figures.",
    )
    time_zone: str = Field(
        default="Europe/Lisbon",
        description="IANA time zone of the site's calendar days: the days of the service "
        "ledger and of the statistics page (Atlantic/Azores for the Azores).",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class WebConfig(Strict):
    """The local touchscreen web UI and API."""

    host: str = Field(
        default="127.0.0.1",
        description="Listen address. Keep it on loopback: the UI is for the local screen.",
    )
    port: int = Field(
        default=8080, ge=0, le=65535, description="Listen port (0 picks a free port; for tests)."
    )


class UiConfig(Strict):
    """Operator accounts, sessions and languages of the touchscreen UI."""

    idle_lock_s: float = Field(
        default=120.0,
        ge=2.0,
        le=3600.0,
        description="Lock the screen after this many seconds without operator activity; "
        "the same operator unlocks with the password or PIN.",
    )
    session_max_s: float = Field(
        default=12 * 3600.0,
        ge=60.0,
        le=24 * 3600.0,
        description="A login session ends after this long, whatever the activity.",
    )
    max_failed_logins: int = Field(
        default=5, ge=1, le=20, description="Failed logins in a row that lock an account out."
    )
    lockout_s: float = Field(
        default=300.0,
        ge=1.0,
        le=86400.0,
        description="How long a locked-out account stays locked.",
    )
    operator_language: Annotated[str, Field(pattern="^(pt-PT|en)$")] = Field(
        default="pt-PT", description="Language of the operator's controls: pt-PT or en."
    )
    applicant_language: Annotated[str, Field(pattern="^(pt-PT|en|hi|ne|bn|uk|ur|fr|es|ar)$")] = (
        Field(
            default="pt-PT",
            description="Default applicant-facing language: pt-PT, en, hi, ne, bn, uk, ur, fr, "
            "es or ar. The operator switches it with one tap per applicant.",
        )
    )


class LoggingConfig(Strict):
    """Daemon logging."""

    level: Annotated[str, Field(pattern="^(DEBUG|INFO|WARNING|ERROR)$")] = Field(
        default="INFO", description="Log level: DEBUG, INFO, WARNING or ERROR."
    )
    json_logs: bool = Field(
        default=True, description="Structured JSON lines (for journald) instead of plain text."
    )


class Pkcs11Config(Strict):
    """Where the hardware-backed device key lives (TPM 2.0 via tpm2-pkcs11, or an HSM)."""

    module: Path = Field(
        default=Path("/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so"),
        description="PKCS#11 module (.so) of the token.",
    )
    token_label: str = Field(default="kiosk", description="Label of the token holding the key.")
    key_label: str = Field(default="device-key", description="Label of the device key pair.")


class SecurityConfig(Strict):
    """Key handling policy."""

    key_backend: Annotated[str, Field(pattern="^(software|pkcs11)$")] = Field(
        default="software",
        description="'software': encrypted PKCS#8 file (passphrase from the systemd credential "
        "device-key-passphrase); 'pkcs11': a TPM/HSM key (PIN from the credential "
        "device-key-pin).",
    )
    pkcs11: Pkcs11Config = Field(
        default_factory=Pkcs11Config, description="PKCS#11 token, when key_backend is pkcs11."
    )
    allow_software_keys: bool = Field(
        default=False,
        description="Production only: allow a software (file) device key when no TPM/HSM "
        "is present. Off by default: production fails closed.",
    )


class ApplianceConfig(Strict):
    """Root of the appliance configuration file."""

    profile: Profile = Field(
        default=Profile.DEMO,
        description="'demo' (simulated devices allowed, local receiver) or 'production' "
        "(real devices only, hardware-backed keys unless explicitly allowed).",
    )
    site: SiteConfig = Field(description="Identity of the site.")
    central: CentralConfig = Field(description="Central enrolment service.")
    devices: DevicesConfig = Field(description="Device drivers.")
    quality: QualityConfig = Field(
        default_factory=QualityConfig, description="Face and fingerprint quality thresholds."
    )
    storage: StorageConfig = Field(description="State paths and quotas.")
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig, description="Retention periods."
    )
    audit: AuditConfig = Field(
        default_factory=AuditConfig,
        description="The record of operations (checkpoints, retention) and the service ledger.",
    )
    web: WebConfig = Field(default_factory=WebConfig, description="Local web UI.")
    ui: UiConfig = Field(
        default_factory=UiConfig, description="Operator accounts, sessions and UI languages."
    )
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Logging.")
    documents: DocumentsConfig = Field(
        default_factory=DocumentsConfig,
        description="Identity documents: chip trust store, DG2 sealing, face match.",
    )
    security: SecurityConfig = Field(
        default_factory=SecurityConfig, description="Key handling policy (device keys)."
    )
    cases: CasesConfig = Field(
        default_factory=CasesConfig,
        description="Case verification: lookups, check-ins and the day's appointment list.",
    )

    @model_validator(mode="after")
    def _production_rules(self) -> ApplianceConfig:
        if self.profile is Profile.PRODUCTION:
            simulated = [
                name
                for name in (
                    "face_camera",
                    "document_camera",
                    "fingerprint_reader",
                    "receipt_printer",
                )
                if getattr(getattr(self.devices, name), "type", None) in ("sim", "file")
            ]
            if simulated:
                raise ValueError(
                    "production profile cannot use simulated devices: " + ", ".join(simulated)
                )
            if getattr(self.devices.document_reader, "allow_virtual", False):
                raise ValueError("production profile cannot use virtual document readers")
            chip = self.documents.chip
            if self.devices.document_reader is not None and not (chip.csca_dir or chip.master_list):
                raise ValueError("a document reader needs documents.chip.csca_dir or master_list")
        return self
