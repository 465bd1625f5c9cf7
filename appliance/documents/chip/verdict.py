"""Verdicts on one chip reading: passive authentication, DG1 = MRZ, AA and CA.

Each failure has a specific, stable reason code (:class:`PaReason`) that the
UI translates and the manifest and audit log record. Nothing personal goes
into the reasons or the logs.
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
import logging
from dataclasses import dataclass, field
from typing import Any

from appliance.documents.chip.active_auth import offers_chip_authentication, verify_active_auth
from appliance.documents.chip.sod import SodError, parse_sod, signature_valid
from appliance.documents.chip.trust import CscaTrustStore, fingerprint, is_valid_at
from drivers.emrtd.lds import mrz_of_dg1
from drivers.emrtd.reading import ChipReading

logger = logging.getLogger(__name__)


class PaReason(enum.StrEnum):
    OK = "ok"
    SOD_MALFORMED = "sod_malformed"
    SOD_DIGEST_MISMATCH = "sod_content_digest_mismatch"
    SOD_SIGNATURE_INVALID = "sod_signature_invalid"
    SIGNER_UNKNOWN = "document_signer_unknown"
    SIGNER_EXPIRED = "document_signer_expired"
    SIGNER_NOT_YET_VALID = "document_signer_not_yet_valid"
    SIGNER_REVOKED = "document_signer_revoked"
    CSCA_EXPIRED = "csca_expired"
    DG_HASH_MISMATCH = "data_group_hash_mismatch"
    DG_NOT_IN_SOD = "data_group_not_in_sod"
    DG1_MISSING = "dg1_missing"
    DG1_MRZ_MISMATCH = "dg1_mrz_mismatch"


@dataclass(frozen=True)
class ChipVerdict:
    """All verdicts on one chip; ``passed`` only if PA passed and DG1 equals the MRZ."""

    reason: PaReason
    detail: str
    access: str
    groups_read: list[int]
    pa_passed: bool
    dg1_matches_mrz: bool | None
    active_auth: str  # passed | failed: ... | not_present
    chip_auth: str  # not_present | not_performed: ... | passed | failed: ...
    signer_subject: str = ""
    csca_sha256: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return self.reason is PaReason.OK and not self.active_auth.startswith("failed")

    def manifest(self) -> dict[str, Any]:
        """The fields the enrolment manifest and the audit log carry."""
        return {
            "chip.access": self.access,
            "chip.groups_read": self.groups_read,
            "chip.pa": "passed" if self.pa_passed else "failed",
            "chip.pa_reason": self.reason.value,
            "chip.dg1_equals_mrz": self.dg1_matches_mrz,
            "chip.active_auth": self.active_auth,
            "chip.chip_auth": self.chip_auth,
            "chip.csca_sha256": self.csca_sha256,
        }


def _normalise_mrz(text: str) -> str:
    return "".join(text.split()).upper()


def _passive(
    reading: ChipReading, trust: CscaTrustStore, now: dt.datetime
) -> tuple[PaReason, str, str, str]:
    try:
        sod = parse_sod(reading.sod)
    except SodError as exc:
        return PaReason.SOD_MALFORMED, str(exc), "", ""
    subject = sod.signer.subject.rfc4514_string()
    if not sod.message_digest_ok:
        return (
            PaReason.SOD_DIGEST_MISMATCH,
            "signed attributes do not match the content",
            subject,
            "",
        )
    if not signature_valid(sod):
        return PaReason.SOD_SIGNATURE_INVALID, "EF.SOD signature does not verify", subject, ""
    issuers = trust.issuers_of(sod.signer)
    if not issuers:
        return PaReason.SIGNER_UNKNOWN, "no trusted CSCA issued the document signer", subject, ""
    csca = issuers[0]
    csca_fp = fingerprint(csca)
    if now < sod.signer.not_valid_before_utc:
        return PaReason.SIGNER_NOT_YET_VALID, "document signer not yet valid", subject, csca_fp
    if now > sod.signer.not_valid_after_utc:
        return PaReason.SIGNER_EXPIRED, "document signer certificate expired", subject, csca_fp
    if not is_valid_at(csca, now):
        return (
            PaReason.CSCA_EXPIRED,
            "the issuing CSCA certificate is not valid now",
            subject,
            csca_fp,
        )
    if trust.is_revoked(sod.signer, csca):
        return PaReason.SIGNER_REVOKED, "document signer is on its CSCA's CRL", subject, csca_fp
    mismatched = []
    for number, data in sorted(reading.data_groups.items()):
        expected = sod.group_hashes.get(number)
        if expected is None:
            return PaReason.DG_NOT_IN_SOD, f"DG{number} has no hash in EF.SOD", subject, csca_fp
        if not hmac.compare_digest(sod.hash_of(data), expected):
            mismatched.append(f"DG{number}")
    if mismatched:
        return PaReason.DG_HASH_MISMATCH, ", ".join(mismatched) + " altered", subject, csca_fp
    return PaReason.OK, "EF.SOD and every data group read verify", subject, csca_fp


def verify_chip(
    reading: ChipReading,
    trust: CscaTrustStore,
    printed_mrz: str | None,
    *,
    now: dt.datetime | None = None,
) -> ChipVerdict:
    """Passive authentication, then DG1 = printed MRZ, then AA/CA reporting."""
    now = now or dt.datetime.now(dt.UTC)
    reason, detail, subject, csca_fp = _passive(reading, trust, now)
    pa_passed = reason is PaReason.OK
    dg1 = reading.data_groups.get(1)
    dg1_matches: bool | None = None
    if dg1 is None:
        if pa_passed:
            reason, detail = PaReason.DG1_MISSING, "DG1 was not read"
    elif printed_mrz is not None:
        try:
            dg1_matches = _normalise_mrz(mrz_of_dg1(dg1)) == _normalise_mrz(printed_mrz)
        except ValueError:
            dg1_matches = False
        if not dg1_matches and pa_passed:
            reason, detail = PaReason.DG1_MRZ_MISMATCH, "DG1 differs from the printed MRZ"
    dg14 = reading.data_groups.get(14)
    active = "not_present"
    if 15 in reading.data_groups:
        exchange = reading.active_auth
        if exchange is None:
            active = "failed: not attempted"
        else:
            active = verify_active_auth(
                reading.data_groups[15], dg14, exchange.challenge, exchange.signature
            )
    chip_auth = "not_present"
    if dg14 is not None:
        try:
            offered = offers_chip_authentication(dg14)
        except ValueError as exc:
            offered, chip_auth = False, f"failed: {exc}"
        if offered:
            chip_auth = reading.chip_auth
    logger.info("chip verdict %s (AA %s, CA %s)", reason.value, active.split(":")[0], chip_auth)
    return ChipVerdict(
        reason=reason,
        detail=detail,
        access=reading.access.value,
        groups_read=reading.groups_read,
        pa_passed=pa_passed,
        dg1_matches_mrz=dg1_matches,
        active_auth=active,
        chip_auth=chip_auth.split(":")[0] if chip_auth.startswith("not_") else chip_auth,
        signer_subject=subject,
        csca_sha256=csca_fp,
        notes=reading.notes,
    )
