"""Every event of the record of operations, with its fields: the one catalogue.

An event's fields never hold biometric data, images, templates, scores of a
person's face beyond pass/fail check names, passwords or PINs. Case references
are never stored in clear: a caller passes ``case_reference`` and the log
stores ``case_digest`` = HMAC-SHA256(per-kiosk key, normalised reference)
instead (:mod:`appliance.audit.pseudonym`). User names of counter staff are
stored (the record exists to say who did what).

========================== =========================================================
event                      fields
========================== =========================================================
``audit.opened``           software_version, damaged_entries (found at open; see verify)
``audit.torn_tail``        index, bytes, sha256, kept_as (a torn last line set aside)
``audit.pruned``           below (first index kept), segments
``config.loaded``          profile, sha256, changed (top-level keys changed since the
                           previous start; empty on the first)
``auth.login``             user, role
``auth.login_failed``      user (null for an unknown name), reason
``auth.logout``            user, reason (logout | replaced | expired)
``auth.lock``              user, reason (manual | idle)
``auth.unlock``            user
``case.lookup``            operator, case_digest, mode (online | offline),
                           outcome (found | not_found | other_site | closed |
                           unavailable)
``case.check_in``          operator, case_digest, mode (online | offline | queued)
``case.check_in_sent``     case_digest (a queued offline check-in reached central)
``case.override``          operator, confirmed_by, case_digest, reason, outcome
``appointments.listed``    day, count, case_digests (the day's list, pseudonymised)
``appointments.purged``    day, count
``enrolment.started``      workflow_id, operator, language, case_digest
``consent.given``          workflow_id, operator, language
``consent.refused``        workflow_id, operator, language
``capture.attempt``        workflow_id, item (face | slap kind | document), auto,
                           accepted, failed (check names), duration_ms
``exception.confirmed``    workflow_id, kind (missing_finger), position, reason,
                           declared_by, confirmed_by
``document.checked``       workflow_id, kind, verdict (valid | check_digit | expired |
                           unreadable), failed (check names), mismatches (field names)
``document.override``      workflow_id, operator, confirmed_by, reason, verdict, mismatches
``chip.read``              workflow_id, pa, pa_reason, active_auth, chip_auth,
                           dg1_matches_mrz, match (match | no_match | null), distance,
                           threshold, error
``chip.decision``          workflow_id, operator, confirmed_by, accepted, reason
``enrolment.cancelled``    workflow_id, operator, step
``enrolment.submitted``    workflow_id, operator, packet_id
``enrolment.sealed``       workflow_id, packet_id, case_digest, operator, started_at,
                           duration_ms (time inside the seal call)
``enrolment.seal_failed``  workflow_id, packet_id, code
``packet.delivered``       packet_id, accepted_at, receipt_sha256
``packet.quarantined``     packet_id, reason
``packet.purged``          packet_id (the tombstone left the outbox)
``tech.action``            user, action (device_reset | device_test |
                           account_created | account_unlocked | ...), target
========================== =========================================================

The workflow engine of issue 14 reports a few more through the same hook
(``enrolment.device_refused``, ``enrolment.duplicate_warned``,
``enrolment.paused``, ``enrolment.taken_over``, ``enrolment.discarded``,
``receipt.printed``); they are listed in :data:`EVENTS` with their fields.
"""

from __future__ import annotations

#: event -> the fields it may carry (``case_reference`` is accepted wherever
#: ``case_digest`` is, and stored as the digest).
EVENTS: dict[str, frozenset[str]] = {
    name: frozenset(fields.split())
    for name, fields in {
        "audit.opened": "software_version damaged_entries",
        "audit.torn_tail": "index bytes sha256 kept_as",
        "audit.pruned": "below segments",
        "config.loaded": "profile sha256 changed",
        "auth.login": "user role",
        "auth.login_failed": "user reason",
        "auth.logout": "user reason",
        "auth.lock": "user reason",
        "auth.unlock": "user",
        "case.lookup": "operator case_digest mode outcome",
        "case.check_in": "operator case_digest mode",
        "case.check_in_sent": "case_digest",
        "case.override": "operator confirmed_by case_digest reason outcome",
        "appointments.listed": "day count case_digests",
        "appointments.purged": "day count",
        "enrolment.started": "workflow_id operator language case_digest",
        "consent.given": "workflow_id operator language",
        "consent.refused": "workflow_id operator language",
        "document.checked": "workflow_id kind verdict failed mismatches",
        "document.override": "workflow_id operator confirmed_by reason verdict mismatches",
        "chip.read": "workflow_id pa pa_reason active_auth chip_auth dg1_matches_mrz match "
        "distance threshold error",
        "chip.decision": "workflow_id operator confirmed_by accepted reason",
        "capture.attempt": "workflow_id item auto accepted failed duration_ms",
        "exception.confirmed": "workflow_id kind position reason declared_by confirmed_by",
        "enrolment.cancelled": "workflow_id operator step had_captures",
        "enrolment.submitted": "workflow_id operator packet_id",
        "enrolment.sealed": "workflow_id packet_id case_digest operator started_at duration_ms",
        "enrolment.seal_failed": "workflow_id packet_id code",
        "packet.delivered": "packet_id accepted_at receipt_sha256",
        "packet.quarantined": "packet_id reason",
        "packet.purged": "packet_id",
        "tech.action": "user action target",
        # Reported by the workflow engine of issue 14 through the same hook.
        "enrolment.device_refused": "operator devices",
        "enrolment.duplicate_warned": "workflow_id operator case_digest seen acknowledged",
        "enrolment.paused": "workflow_id operator step",
        "enrolment.taken_over": "workflow_id operator previous step",
        "enrolment.discarded": "workflow_id operator previous step had_captures confirmed_by",
        "receipt.printed": "workflow_id operator packet_id printer",
    }.items()
}

#: Events that end with a new signed checkpoint at once (not only on the timer).
CHECKPOINT_NOW = frozenset({"enrolment.sealed", "enrolment.submitted", "audit.torn_tail"})

#: Events that belong to one enrolment (``workflow_id``), for ``audit show --case``.
ENROLMENT_EVENTS = frozenset(name for name, fields in EVENTS.items() if "workflow_id" in fields)

#: The enrolment's context is filled in for these when the caller does not know it.
CONTEXT_FIELDS = ("workflow_id",)


def allowed_fields(event: str) -> frozenset[str]:
    """The documented fields of ``event`` (KeyError for an undocumented event)."""
    return EVENTS[event]
