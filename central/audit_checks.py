"""Checks shared by the audit servicer: signer certificates, compact ranges, flags.

A checkpoint or ledger is trusted only when the chain presented with it is a
valid, unrevoked device-signing chain issued by central's CA and its leaf names
the device on the mTLS connection. Anything a device signs that contradicts
what it signed before becomes a stored :class:`~central.storage.audit.AuditFlag`.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from cryptography import x509

from central.rpc_errors import abort
from central.state import ReceiverState
from central.storage.audit import AuditFlag, AuditLogState
from packet.certprofiles import DEVICE_SIGNING, device_id_of
from packet.errors import CertificateInvalid
from packet.trust import MAX_CHAIN
from transparency.merkle import HASH_SIZE, CompactRange, frontier_ranges

logger = logging.getLogger(__name__)

MAX_CERTIFICATE_BYTES = 16 << 10
#: A consistency proof has at most ~2 log2(n) hashes; 128 covers any log size.
MAX_PROOF = 128


async def verified_signer(
    state: ReceiverState, chain_der: list[bytes], device_id: str, context: Any
) -> x509.Certificate:
    """The leaf of a trusted device-signing chain that names ``device_id``."""
    if not chain_der or len(chain_der) > MAX_CHAIN:
        await abort(context, "INVALID_AUDIT", f"send 1 to {MAX_CHAIN} signer certificates")
    try:
        if any(len(der) > MAX_CERTIFICATE_BYTES for der in chain_der):
            raise ValueError("certificate too large")
        chain = [x509.load_der_x509_certificate(der) for der in chain_der]
    except ValueError:
        await abort(context, "INVALID_AUDIT", "a signer certificate is not DER")
    trust = await state.trust_store()
    try:
        trust.verify_chain(chain, profile=DEVICE_SIGNING)
        certified = device_id_of(chain[0])
    except CertificateInvalid as exc:
        await abort(
            context, "CERTIFICATE_INVALID", f"{exc.code}: {exc}", certificate_error=exc.code
        )
    if certified != device_id:
        await abort(context, "CERTIFICATE_INVALID", "the signer certificate names another device")
    return chain[0]


def frontier_of(state: AuditLogState) -> CompactRange:
    """The compact range of the leaves central holds for a device."""
    blocks = frontier_ranges(state.entries_held)
    data = state.frontier
    if len(data) != HASH_SIZE * len(blocks):
        raise ValueError(f"stored frontier of {state.device_id} does not fit its size")
    return CompactRange.of(
        [(hi - lo, data[n * HASH_SIZE : (n + 1) * HASH_SIZE]) for n, (lo, hi) in enumerate(blocks)]
    )


async def flag_and_refuse(
    state: ReceiverState,
    context: Any,
    flag: AuditFlag,
    reason: str = "AUDIT_INCONSISTENT",
) -> NoReturn:
    """Store the flag, count it, and end the call with ``reason``."""
    await state.storage.audit.flag(flag)
    state.metrics.audit_flags.labels(kind=flag.kind).inc()
    logger.warning("audit log of %s flagged: %s", flag.device_id, flag.kind)
    await abort(context, reason, f"{flag.kind}: {flag.detail}", flag=flag.kind)
