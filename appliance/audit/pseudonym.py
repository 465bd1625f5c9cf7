"""Case references as keyed hashes: what the record of operations stores instead.

``case_digest = hex(HMAC-SHA256(key, reference.strip().upper()))`` with a
per-kiosk secret of 32 random bytes in ``<state_dir>/case-key`` (mode 0600),
made on first use and never leaving the kiosk. The same key and the same
normalisation are used by the outbox's case history (issue 14), so a digest in
the log and one in the outbox name the same case.

Whoever holds the key (the kiosk, a technician with root on it) can test a
guessed reference against a digest; nobody else can, and the digest reveals
nothing of the reference. Central receives only digests: the audit team
asks the kiosk (``appliance audit show --case REF``) or has the key escrowed
under the joint controllers' procedure (docs/data-protection.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from appliance.durable import create_once

KEY_BYTES = 32
KEY_FILE = "case-key"


class CaseKey:
    """The kiosk's HMAC key for case digests."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("the case key must be 32 bytes")
        self._key = key

    @classmethod
    def load_or_create(cls, state_dir: Path) -> CaseKey:
        path = state_dir / KEY_FILE
        try:
            return cls(path.read_bytes())
        except FileNotFoundError:
            pass
        key = secrets.token_bytes(KEY_BYTES)
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(create_once(path, key))  # never replaces a key made meanwhile

    @classmethod
    def load(cls, state_dir: Path) -> CaseKey | None:
        """The key if this kiosk has one (read-only tools never create it)."""
        try:
            return cls((state_dir / KEY_FILE).read_bytes())
        except FileNotFoundError:
            return None

    def digest(self, case_reference: str) -> str:
        normalised = case_reference.strip().upper().encode()
        return hmac.new(self._key, normalised, hashlib.sha256).hexdigest()
