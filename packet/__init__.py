"""Sealed enrolment packets: signed by the device, encrypted to central (HPKE, RFC 9180).

The byte format is specified in ``docs/packet-format.md``. :mod:`.seal` writes
packets in bounded memory; :mod:`.open` verifies and decrypts them (the
reference receiver uses it); :mod:`.keys` holds central's encryption keys.
"""
