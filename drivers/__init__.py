"""Hardware drivers for the capture appliance.

This package talks to cameras and fingerprint readers and exposes them through
the narrow, typed interfaces in :mod:`drivers.interfaces`. It never imports
``appliance`` (a test enforces it): the daemon depends on drivers, not the
other way round.
"""
