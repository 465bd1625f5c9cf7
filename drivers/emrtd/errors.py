"""Typed chip errors; each carries an operator-facing message key."""

from __future__ import annotations

from drivers.errors import DeviceDisconnected, DeviceError, DeviceTimeout


class ChipError(DeviceError):
    """The chip answered, but not as ICAO Doc 9303 says it should."""

    message_key = "chip.protocol_error"


class ChipAccessDenied(ChipError):
    """BAC/PACE failed: the access keys (MRZ) do not open this chip."""

    message_key = "chip.access_denied"


class SecureMessagingError(ChipError):
    """A secure-messaging response had a bad MAC or a malformed structure."""

    message_key = "chip.secure_messaging"


class ChipFileTooLarge(ChipError):
    """A file announced a length above the configured bound (a lying length)."""

    message_key = "chip.file_too_large"


class ChipFileNotFound(ChipError):
    """The chip has no such elementary file."""

    message_key = "chip.file_not_found"


class CardRemoved(DeviceDisconnected):
    """The document left the reader's field in the middle of an exchange."""

    message_key = "chip.card_removed"


class NoCard(DeviceTimeout):
    """No document was presented within the wait."""

    message_key = "chip.no_card"
