"""MOSIP Secure Biometric Interface (SBI 0.9.5 / 1.0) devices, and a simulator of them.

- :mod:`drivers.sbi.reader` — a finger device as a ``FingerprintReader``;
- :mod:`drivers.sbi.camera` — a face device as a ``Camera`` (STREAM + RCAPTURE);
- :mod:`drivers.sbi.client` — discovery, verified device info and capture;
- :mod:`drivers.sbi.jws`, :mod:`drivers.sbi.iso`, :mod:`drivers.sbi.mjpeg`,
  :mod:`drivers.sbi.http`, :mod:`drivers.sbi.protocol` — the wire formats;
- :mod:`drivers.sbi.simulator` — ``python -m drivers.sbi.simulator``, a device
  service for demos and tests (:mod:`drivers.sbi.sim_service`,
  :mod:`drivers.sbi.sim_pki`).

The config models live in :mod:`drivers.sbi.config`, which imports nothing heavy.
"""
