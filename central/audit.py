"""``AuditService``: kiosks' records of operations and service ledgers (audit.proto).

Stateless over :class:`~central.storage.audit.AuditStore`: any replica takes any
call. Per device central keeps the entries (in order, each with its leaf hash),
the last accepted checkpoint and its flags. A new checkpoint is accepted only
if its signature verifies with a trusted device-signing certificate of the
calling device, it is consistent with the accepted one (RFC 9162 2.1.4.2, the
proof sent with it) and its root equals the tree head of the entries central
holds. A smaller tree, a different root at the same size, a failing proof,
entries that differ from those held, or a root that does not match them flag
the device (:func:`central.audit_checks.flag_and_refuse`).

A ledger is verified the same way, then reconciled with the receipts central
issued to the device within the ledger's day (:func:`transparency.ledger.reconcile`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from aima.enrolment.v1 import audit_pb2, audit_pb2_grpc
from central.audit_checks import MAX_PROOF, flag_and_refuse, frontier_of, verified_signer
from central.peer import authenticated_device, timestamp
from central.rpc_errors import abort
from central.state import ReceiverState
from central.storage.audit import MAX_APPEND, AuditFlag, AuditLogState, StoredLedger
from packet.receipts import SignedReceipt
from packet.timestamps import TimestampFormatError, parse_timestamp
from transparency.checkpoint import (
    Checkpoint,
    CheckpointError,
    open_checkpoint,
    parse_checkpoint_text,
)
from transparency.entries import EntryError, parse_entry
from transparency.ledger import LedgerError, open_ledger, read_ledger, reconcile
from transparency.merkle import HASH_SIZE, leaf_hash, root_of, verify_consistency
from transparency.note import NoteError, parse_note

logger = logging.getLogger(__name__)

#: Receipts are looked up this far around the day (commit time vs the receipt's own time).
RECEIPT_MARGIN = dt.timedelta(minutes=10)


def state_message(state: AuditLogState) -> Any:
    message = audit_pb2.AuditState(
        entries_held=state.entries_held,
        checkpoint_size=state.checkpoint_size,
        checkpoint_root=state.checkpoint_root,
        flagged=state.flagged,
    )
    if state.checkpoint_time:
        message.checkpoint_time.CopyFrom(timestamp(parse_timestamp(state.checkpoint_time)))
    return message


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, state: ReceiverState) -> None:
        self._state = state

    async def GetAuditState(self, request: Any, context: Any) -> Any:
        device_id = await authenticated_device(self._state, context)
        return state_message(await self._state.storage.audit.state(device_id))

    async def UploadAudit(self, request: Any, context: Any) -> Any:
        device_id = await authenticated_device(self._state, context)
        audit = self._state.storage.audit
        current = await audit.state(device_id)
        if len(request.entries) > MAX_APPEND:
            await abort(context, "INVALID_AUDIT", f"at most {MAX_APPEND} entries per request")
        first = request.first_index
        if not 0 <= first <= current.entries_held:
            await abort(
                context,
                "AUDIT_ENTRIES_GAP",
                f"entries_held={current.entries_held}",
                entries_held=str(current.entries_held),
            )
        leaves = []
        for n, raw in enumerate(request.entries):
            try:
                parse_entry(raw, index=first + n)
            except EntryError as exc:
                await abort(context, "INVALID_AUDIT", f"entry {first + n}: {exc}")
            leaves.append(leaf_hash(raw))
        head = None
        if request.checkpoint:  # a contradicting history is refused before its entries are kept
            head = await self._precheck(device_id, current, request, context)
        current = await self._append(
            device_id, current, first, list(request.entries), leaves, context
        )
        if head is not None and head.size != current.checkpoint_size:
            current = await self._accept(device_id, current, head, request, context)
        return state_message(current)

    async def _append(
        self,
        device_id: str,
        current: AuditLogState,
        first: int,
        entries: list[bytes],
        leaves: list[bytes],
        context: Any,
    ) -> AuditLogState:
        audit = self._state.storage.audit
        overlap = min(current.entries_held - first, len(leaves))
        if overlap > 0:
            held = await audit.leaf_hashes(device_id, first, first + overlap)
            for n, (kept, sent) in enumerate(zip(held, leaves[:overlap], strict=True)):
                if kept != sent:
                    await flag_and_refuse(
                        self._state,
                        context,
                        AuditFlag(
                            device_id,
                            "rewritten",
                            current.checkpoint_size,
                            f"entry {first + n} differs from the one received before",
                        ),
                    )
        new_entries, new_leaves = entries[overlap:], leaves[overlap:]
        if not new_entries:
            return current
        frontier = frontier_of(current)
        for leaf in new_leaves:
            frontier.append(leaf)
        held_after = await audit.append_entries(
            device_id, current.entries_held, new_entries, new_leaves, b"".join(frontier.hashes())
        )
        self._state.metrics.audit_entries.inc(max(0, held_after - current.entries_held))
        return await audit.state(device_id)

    async def _precheck(
        self, device_id: str, current: AuditLogState, request: Any, context: Any
    ) -> Checkpoint:
        """Format, signature, and agreement with the accepted checkpoint (flags on failure)."""
        try:
            head = parse_checkpoint_text(parse_note(request.checkpoint).text)
        except (NoteError, CheckpointError) as exc:
            await abort(context, "INVALID_AUDIT", f"checkpoint: {exc}")
        proof = list(request.consistency_proof)
        if len(proof) > MAX_PROOF or any(len(p) != HASH_SIZE for p in proof):
            await abort(context, "INVALID_AUDIT", "malformed consistency proof")
        signer = await verified_signer(
            self._state, list(request.signer_certificate_chain_der), device_id, context
        )
        try:
            open_checkpoint(request.checkpoint, signer)
        except CheckpointError as exc:
            await flag_and_refuse(
                self._state,
                context,
                AuditFlag(device_id, "bad_signature", head.size, str(exc)),
                "AUDIT_SIGNATURE_INVALID",
            )
        accepted, root = current.checkpoint_size, current.checkpoint_root
        flag = None
        if head.size < accepted:
            flag = ("truncated", f"a tree of {head.size} after one of {accepted} was accepted")
        elif head.size == accepted and accepted and head.root != root:
            flag = ("rewritten", f"another root for the accepted tree of {accepted}")
        elif accepted and head.size > accepted:
            if not verify_consistency(accepted, head.size, root, head.root, proof):
                flag = ("inconsistent", f"no valid consistency proof from {accepted}")
        if flag is not None:
            kind, detail = flag
            await flag_and_refuse(
                self._state, context, AuditFlag(device_id, kind, head.size, detail)
            )
        return head

    async def _accept(
        self,
        device_id: str,
        current: AuditLogState,
        head: Checkpoint,
        request: Any,
        context: Any,
    ) -> AuditLogState:
        """The checkpoint's root must be the tree head of the entries central holds."""
        if head.size > current.entries_held:
            await abort(
                context,
                "AUDIT_ENTRIES_MISSING",
                f"the checkpoint covers {head.size} entries, central holds {current.entries_held}",
            )
        if await self._root(current, head.size) != head.root:
            await flag_and_refuse(
                self._state,
                context,
                AuditFlag(
                    device_id, "root_mismatch", head.size, "the root does not match the entries"
                ),
            )
        audit = self._state.storage.audit
        if await audit.accept_checkpoint(
            device_id, current.checkpoint_size, head.size, head.root, head.time, request.checkpoint
        ):
            self._state.metrics.audit_checkpoints.labels(result="accepted").inc()
        return await audit.state(device_id)

    async def _root(self, current: AuditLogState, size: int) -> bytes:
        if size == current.entries_held:
            return frontier_of(current).root()
        leaves = await self._state.storage.audit.leaf_hashes(current.device_id, 0, size)
        return root_of(leaves)

    async def UploadLedger(self, request: Any, context: Any) -> Any:
        device_id = await authenticated_device(self._state, context)
        try:
            claimed = read_ledger(request.ledger)
        except LedgerError as exc:
            await abort(context, "INVALID_LEDGER", str(exc))
        signer = await verified_signer(
            self._state, list(request.signer_certificate_chain_der), device_id, context
        )
        try:
            ledger = open_ledger(request.ledger, signer)
        except LedgerError as exc:
            await abort(context, "AUDIT_SIGNATURE_INVALID", str(exc))
        assert ledger.day == claimed.day
        audit = self._state.storage.audit
        since = parse_timestamp(ledger.start) - RECEIPT_MARGIN
        until = parse_timestamp(ledger.end) + RECEIPT_MARGIN
        receipts = [
            (packet_id, at)
            for packet_id, raw in await audit.receipts_between(device_id, since, until)
            if (at := _accepted_at(raw)) is not None
        ]
        result = reconcile(ledger, receipts)
        site = await audit.device_site(device_id)
        matches = result.matches and (site is None or site == ledger.site_id)
        held = await audit.store_ledger(
            StoredLedger(
                device_id=device_id,
                day=ledger.day,
                site_id=ledger.site_id,
                revision=ledger.revision,
                note=request.ledger,
                matches=matches,
                receipts=result.receipts,
                missing_at_kiosk=result.missing_at_kiosk,
                unknown_at_central=result.unknown_at_central,
            )
        )
        if held.revision == ledger.revision:
            outcome = "matches" if matches else "mismatch"
            self._state.metrics.ledgers.labels(result=outcome).inc()
            if not matches:
                logger.warning("ledger %s of %s does not match the receipts", ledger.day, device_id)
        return audit_pb2.UploadLedgerResponse(
            day=held.day,
            revision=held.revision,
            matches_receipts=held.matches,
            receipts_issued=held.receipts,
            missing_at_kiosk=list(held.missing_at_kiosk),
            unknown_at_central=list(held.unknown_at_central),
        )


def _accepted_at(receipt: bytes) -> str | None:
    try:
        fields = json.loads(SignedReceipt.from_bytes(receipt).payload)
        at = str(fields["accepted_at"])
        parse_timestamp(at)
    except (ValueError, KeyError, TypeError, TimestampFormatError):
        return None
    return at
