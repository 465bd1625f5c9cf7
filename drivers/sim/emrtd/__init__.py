"""An eMRTD chip emulator that plugs into pcscd through vsmartcard's ``vpcd``.

It plays a passport or residence-permit chip for tests, the demo and
``appliance hil --simulated``: BAC, secure messaging, the LDS files built from
test data (:mod:`.lds_builder`) and Active Authentication. Its cryptography is
written here, independently of the reader in :mod:`drivers.emrtd` (no shared
helpers), so a mistake in one side cannot hide the same mistake in the other.
"""
