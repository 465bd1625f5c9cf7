"""eMRTD chip access and reading (ICAO Doc 9303 parts 10 and 11), reader side.

Protocol logic only: the primitives (3DES, AES, CMAC, ECDH) come from
``cryptography``. It talks to a card through a :class:`drivers.interfaces.CardChannel`
(PC/SC in :mod:`drivers.pcsc`, or anything else that moves APDUs) and returns the
raw LDS files; verifying them (passive authentication) is the engine's job in
``appliance.documents.chip``.
"""
