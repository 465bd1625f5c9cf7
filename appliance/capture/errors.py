"""Errors of the capture service: an operator message key and a text for the logs."""

from __future__ import annotations


class CaptureError(Exception):
    """A capture or sealing step failed; ``code`` is the operator-facing message key.

    Codes: ``device.*`` (the device's own key, e.g. ``device.disconnected``),
    ``face.no_face``, ``outbox.full``, ``outbox.error``, ``not_provisioned``,
    ``seal.failed``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
