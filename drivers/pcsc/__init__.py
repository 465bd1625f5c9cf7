"""Contactless document readers over PC/SC (pcsc-lite's ``pcscd`` through ``pyscard``).

Any CCID contactless reader that Debian's ``libccid`` drives (and that is on the
approved-device list) works; in tests, vsmartcard's ``vpcd`` virtual reader with
the eMRTD emulator of :mod:`drivers.sim.emrtd` stands in for one.
"""
