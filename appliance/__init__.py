"""Edge biometric-capture appliance for CLAIM 2G kiosks."""

__version__ = "0.1.0"
