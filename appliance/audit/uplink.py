"""Sending the record of operations and the ledgers to central (``AuditService``).

One :meth:`AuditUplink.sync`: ask central where its copy stands
(``GetAuditState``), send the entries it lacks in batches of at most
:data:`BATCH_ENTRIES`, the last batch with the latest signed checkpoint and the
consistency proof from the checkpoint central accepted, then every ledger
revision central has not acknowledged. Central verifies everything again; the
kiosk only reports what it sees (a central that holds more entries than this
log means the log was truncated - the checkpoint is sent anyway so that central
records it). Failures leave everything in place for the next round.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import grpc
from cryptography.hazmat.primitives import serialization

from aima.enrolment.v1 import audit_pb2, audit_pb2_grpc
from appliance.audit.ledgers import LedgerStore
from appliance.audit.log import AuditLog, CheckpointSigner
from appliance.audit.store import Line
from transparency.merkle import ProofError

logger = logging.getLogger(__name__)

BATCH_ENTRIES = 256
BATCH_BYTES = 1 << 20
RPC_TIMEOUT_S = 30.0


@dataclass
class SyncResult:
    entries_held: int = 0
    checkpoint_size: int = 0
    flagged: bool = False
    ledgers_sent: int = 0
    ledgers_matching: int = 0
    problem: str | None = None  # a reason code when central refused something


class AuditUplink:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        log: AuditLog,
        ledgers: LedgerStore,
        signer: CheckpointSigner,
    ) -> None:
        self._stub = audit_pb2_grpc.AuditServiceStub(channel)
        self._log = log
        self._ledgers = ledgers
        self._chain = [c.public_bytes(serialization.Encoding.DER) for c in signer.chain]
        self.last: SyncResult | None = None

    async def sync(self) -> SyncResult:
        result = SyncResult()
        state = await self._stub.GetAuditState(
            audit_pb2.GetAuditStateRequest(), timeout=RPC_TIMEOUT_S
        )
        try:
            state = await self._send_log(state)
        except grpc.aio.AioRpcError as exc:
            result.problem = _reason(exc) or exc.code().name
            logger.warning("central refused the record of operations: %s", result.problem)
        result.entries_held = state.entries_held
        result.checkpoint_size = state.checkpoint_size
        result.flagged = state.flagged
        await self._send_ledgers(result)  # a refused log does not hold the ledgers back
        self.last = result
        return result

    async def _send_log(self, state: Any) -> Any:
        latest = await asyncio.to_thread(self._log.checkpoints.latest)
        head = latest.checkpoint if latest is not None else None
        if head is None:
            return state
        held = state.entries_held
        if held > self._log.size:
            logger.error(
                "central holds %d entries, this log %d: the log was truncated", held, self._log.size
            )
        lines = await asyncio.to_thread(self._lines, held, head.size)
        while True:
            batch: list[bytes] = []
            size = 0
            while lines and len(batch) < BATCH_ENTRIES and size + len(lines[0].entry) < BATCH_BYTES:
                size += len(lines[0].entry)
                batch.append(lines.pop(0).entry)
            last = not lines
            request = audit_pb2.UploadAuditRequest(first_index=held, entries=batch)
            if last:
                request.checkpoint = latest.note if latest is not None else b""
                request.signer_certificate_chain_der.extend(self._chain)
                request.consistency_proof.extend(self._proof(state.checkpoint_size, head.size))
            state = await self._stub.UploadAudit(request, timeout=RPC_TIMEOUT_S)
            held = state.entries_held
            if last:
                return state

    def _lines(self, start: int, end: int) -> list[Line]:
        if start >= end:
            return []
        with self._log.store.locked(exclusive=False):
            return [line for line in self._log.store.lines(start=start) if line.index < end]

    def _proof(self, accepted: int, size: int) -> list[bytes]:
        if accepted <= 0 or accepted >= size or accepted > self._log.size:
            return []
        try:
            return self._log.consistency_proof(accepted, size)
        except ProofError as exc:  # pruned below central's checkpoint: cannot happen by design
            logger.error("no consistency proof from %d: %s", accepted, exc)
            return []

    async def _send_ledgers(self, result: SyncResult) -> None:
        for day, revision, note in await asyncio.to_thread(self._ledgers.pending):
            request = audit_pb2.UploadLedgerRequest(ledger=note)
            request.signer_certificate_chain_der.extend(self._chain)
            try:
                answer = await self._stub.UploadLedger(request, timeout=RPC_TIMEOUT_S)
            except grpc.aio.AioRpcError as exc:
                result.problem = result.problem or _reason(exc) or exc.code().name
                logger.warning("central refused the ledger of %s: %s", day, result.problem)
                return
            await asyncio.to_thread(self._ledgers.mark_uploaded, day, revision)
            result.ledgers_sent += 1
            if answer.matches_receipts:
                result.ledgers_matching += 1
            else:
                logger.warning(
                    "ledger of %s does not match central's receipts (%d missing here, %d unknown "
                    "there)",
                    day,
                    len(answer.missing_at_kiosk),
                    len(answer.unknown_at_central),
                )


def _reason(exc: grpc.aio.AioRpcError) -> str | None:
    from appliance.uplink.client import error_reason

    return error_reason(exc)
