"""Hostile bytes against the record of operations' parsers reach only their own errors.

Entries, signed notes, checkpoints and ledgers arrive at central from kiosks, and a
kiosk reads its own files back after a crash: each parser checks size and depth
before parsing and raises only its documented error (budget as ``tests/test_fuzz.py``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.audit_world import make_signer
from transparency.checkpoint import Checkpoint, CheckpointError, open_checkpoint, sign_checkpoint
from transparency.entries import EntryError, parse_entry
from transparency.ledger import LedgerError, read_ledger
from transparency.merkle import verify_consistency, verify_inclusion
from transparency.note import NoteError, parse_note

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 150,
    suppress_health_check=[HealthCheck.too_slow],
)
SIGNER = make_signer("dev-fuzz00000001")
NOTE = sign_checkpoint(
    Checkpoint("dev-fuzz00000001", 7, b"\x05" * 32, "2026-11-23T10:00:00.000Z"),
    SIGNER.sign,
    SIGNER.chain[0].public_key(),  # type: ignore[arg-type]
)
ENTRY = (
    b'{"event":"auth.login","fields":{"role":"operator","user":"op"},"index":0,'
    b'"time":"2026-11-23T10:00:00.000Z","v":1}'
)
TEXT_END = NOTE.index(b"\n\n") + 1  # the signed text; the signature line follows


@FUZZ
@given(st.binary(max_size=4096))
def test_entries(data: bytes) -> None:
    try:
        parse_entry(data)
    except EntryError:
        pass


@FUZZ
@given(st.integers(0, len(ENTRY) - 1), st.integers(0, 255))
def test_one_changed_byte_of_an_entry(position: int, value: int) -> None:
    data = bytearray(ENTRY)
    data[position] = value
    try:
        parse_entry(bytes(data))
    except EntryError:
        pass


@FUZZ
@given(st.binary(max_size=4096))
def test_notes_checkpoints_and_ledgers(data: bytes) -> None:
    for parse, error in (
        (parse_note, NoteError),
        (read_ledger, LedgerError),
        (lambda d: open_checkpoint(d, SIGNER.chain[0]), CheckpointError),
    ):
        try:
            parse(data)
        except error:
            pass


@FUZZ
@given(st.integers(0, TEXT_END - 1), st.integers(0, 255))
def test_a_changed_byte_of_a_signed_checkpoint_never_verifies(position: int, value: int) -> None:
    data = bytearray(NOTE)
    if data[position] == value:
        return
    data[position] = value
    try:
        open_checkpoint(bytes(data), SIGNER.chain[0])
    except CheckpointError:
        return
    raise AssertionError("a changed checkpoint verified")


@FUZZ
@given(
    st.integers(0, 1 << 40),
    st.integers(0, 1 << 40),
    st.lists(st.binary(min_size=0, max_size=40), max_size=70),
)
def test_proof_verifiers_take_anything(first: int, second: int, path: list[bytes]) -> None:
    assert verify_consistency(first, second, b"a" * 32, b"b" * 32, path) in (True, False)
    assert verify_inclusion(first, second, b"a" * 32, path, b"b" * 32) in (True, False)
