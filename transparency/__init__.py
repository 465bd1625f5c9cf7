"""Tamper-evident logs shared by the kiosk and central: formats and verification only.

- :mod:`.merkle`: the Merkle tree of RFC 9162 (Certificate Transparency v2)
  section 2.1 - leaf and node hashes, tree heads, inclusion and consistency
  proofs and their verification algorithms;
- :mod:`.note`: C2SP signed notes with ECDSA P-256 signatures (the byte format of
  everything the kiosk signs about its record of operations);
- :mod:`.checkpoint`: C2SP tlog checkpoints (signed tree heads) of a kiosk's log;
- :mod:`.entries`: the byte format of one entry of the record of operations;
- :mod:`.ledger`: the signed daily service ledger and its aggregation.

This package imports neither the kiosk (``appliance``) nor central (``central``);
both sides use it, like :mod:`packet`, so the two can never disagree on a byte.
The formats are specified in ``docs/audit-log.md``.
"""
