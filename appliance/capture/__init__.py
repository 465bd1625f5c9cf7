"""The one capture service: devices, quality engines, one enrolment's captures, sealing.

Everything that turns a device into a sealed packet goes through
:class:`appliance.capture.service.CaptureService`: the enrolment workflow drives
it, the demo drives it, and the technician's device test uses its device access
(without ever sealing). It borrows devices from the supervisor and reports their
failures, runs the face (ICAO) and finger (NFIQ 2) engines, keeps the current
enrolment's captures in memory only, counts the metrics, and seals the captures
into the outbox.
"""
