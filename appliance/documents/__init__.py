"""Document engines: pure functions on documents (no devices, no HTTP).

Perspective correction of a photographed document and the appointment QR code
(``perspective``, ``qr``), the machine-readable zone (``mrz_*``: find the band,
read it, parse and check it, compare it with the case), and the chip of a
passport or residence permit (``chip/``: passive and active authentication).
"""
