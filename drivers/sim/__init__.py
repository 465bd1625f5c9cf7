"""Simulated devices: a portrait camera, a file camera and a synthetic fingerprint reader.

They implement the same interfaces as real hardware and power the demo, the
tests and UI work. Nothing here touches real biometric data: faces are
rendered from a public portrait shipped inside scikit-image (or synthetic),
fingerprints are synthesised.
"""
