"""Closed FAP-60 class readers behind a vendor SDK, loaded through a small C ABI.

The contract a vendor library implements is ``ABI.md`` in this package;
:mod:`drivers.vendor_sdk.abi` loads such a library with ``ctypes`` and checks
its ABI version, :mod:`drivers.vendor_sdk.reader` drives it as a
``FingerprintReader`` with every blocking call on one worker thread, and
:mod:`drivers.vendor_sdk.config` is the (light) config model.
"""
