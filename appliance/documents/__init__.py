"""Document engines: pure functions on document images (no devices, no HTTP).

Perspective correction of a photographed document, the appointment QR code,
and (see the modules beside this one) reading and checking identity documents.
"""
