"""Typed device interfaces: what every camera, fingerprint and document reader offers.

Real drivers (pyusb readers, OpenCV/V4L2 cameras, vendor SDKs, MOSIP SBI
services) and the simulated devices in :mod:`drivers.sim` all implement these
``Protocol``s, so the daemon, the tests and the hardware-in-the-loop rig run
the same code paths against either.

Values crossing the interface are frozen dataclasses. Image payloads are numpy
arrays; those dataclasses use ``eq=False`` because arrays do not compare to a
single bool.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

ImageU8 = npt.NDArray[np.uint8]


class DeviceKind(enum.StrEnum):
    CAMERA = "camera"
    FINGERPRINT = "fingerprint"
    DOCUMENT_READER = "document_reader"
    PRINTER = "printer"


class DeviceState(enum.StrEnum):
    """Operator-visible device state, shown in the device list."""

    CLOSED = "closed"
    READY = "ready"
    BUSY = "busy"
    DISCONNECTED = "disconnected"
    ERROR = "error"
    REFUSED = "refused"  # not on the approved-device allow-list


@dataclass(frozen=True)
class DeviceInfo:
    """Identity of one attached device."""

    device_id: str
    kind: DeviceKind
    driver: str
    vendor: str
    model: str
    serial: str = ""
    firmware: str = ""
    usb_vid: int | None = None
    usb_pid: int | None = None
    simulated: bool = False


# --------------------------------------------------------------------------- camera


@dataclass(frozen=True)
class CameraControls:
    """Camera controls. ``None`` means "leave as the device has it"."""

    width: int = 640
    height: int = 480
    fps: float = 30.0
    auto_exposure: bool = False
    exposure: float | None = None  # device units (V4L2: 100 µs steps)
    auto_white_balance: bool = False
    white_balance_k: int | None = None
    gain: float | None = None


@dataclass(frozen=True, eq=False)
class Frame:
    """One camera frame: BGR, uint8, shape (height, width, 3)."""

    image: ImageU8
    sequence: int
    timestamp: float  # time.monotonic() at capture


@runtime_checkable
class Camera(Protocol):
    """A camera delivering BGR frames."""

    @property
    def info(self) -> DeviceInfo: ...

    @property
    def state(self) -> DeviceState: ...

    async def open(self) -> None:
        """Acquire the device and apply the configured controls."""

    async def close(self) -> None:
        """Release the device. Safe to call twice."""

    async def read_frame(self, timeout_s: float = 2.0) -> Frame:
        """Return the next frame or raise a :class:`drivers.errors.DeviceError`."""

    async def set_controls(self, controls: CameraControls) -> CameraControls:
        """Apply controls; return what the device actually accepted."""

    def controls(self) -> CameraControls:
        """The controls currently in force."""


# --------------------------------------------------------------------- fingerprint


class FingerPosition(enum.IntEnum):
    """ANSI/NIST-ITL 1-2011 friction ridge generalized positions (FGP, Table 8)."""

    UNKNOWN = 0
    RIGHT_THUMB = 1
    RIGHT_INDEX = 2
    RIGHT_MIDDLE = 3
    RIGHT_RING = 4
    RIGHT_LITTLE = 5
    LEFT_THUMB = 6
    LEFT_INDEX = 7
    LEFT_MIDDLE = 8
    LEFT_RING = 9
    LEFT_LITTLE = 10
    PLAIN_RIGHT_FOUR = 13
    PLAIN_LEFT_FOUR = 14
    PLAIN_THUMBS = 15


class CaptureKind(enum.StrEnum):
    FLAT_SINGLE = "flat_single"
    ROLLED_SINGLE = "rolled_single"
    SLAP_RIGHT_FOUR = "slap_right_four"
    SLAP_LEFT_FOUR = "slap_left_four"
    SLAP_THUMBS = "slap_thumbs"


#: Slap kind -> (slap FGP, the single fingers it holds, in left-to-right image order).
SLAP_LAYOUT: dict[CaptureKind, tuple[FingerPosition, tuple[FingerPosition, ...]]] = {
    CaptureKind.SLAP_RIGHT_FOUR: (
        FingerPosition.PLAIN_RIGHT_FOUR,
        (
            FingerPosition.RIGHT_INDEX,
            FingerPosition.RIGHT_MIDDLE,
            FingerPosition.RIGHT_RING,
            FingerPosition.RIGHT_LITTLE,
        ),
    ),
    CaptureKind.SLAP_LEFT_FOUR: (
        FingerPosition.PLAIN_LEFT_FOUR,
        (
            FingerPosition.LEFT_LITTLE,
            FingerPosition.LEFT_RING,
            FingerPosition.LEFT_MIDDLE,
            FingerPosition.LEFT_INDEX,
        ),
    ),
    CaptureKind.SLAP_THUMBS: (
        FingerPosition.PLAIN_THUMBS,
        (FingerPosition.LEFT_THUMB, FingerPosition.RIGHT_THUMB),
    ),
}


class CaptureState(enum.StrEnum):
    """The reader's capture state machine (see :mod:`drivers.capture_state`)."""

    IDLE = "idle"
    AWAITING_FINGER = "awaiting_finger"
    CAPTURING = "capturing"
    AWAITING_LIFT = "awaiting_lift"


@dataclass(frozen=True)
class CaptureRequest:
    """What the operator asked the reader to capture."""

    kind: CaptureKind
    position: FingerPosition
    timeout_s: float = 20.0
    #: Fingers declared missing (amputated / unable to print) for this capture.
    missing: frozenset[FingerPosition] = field(default_factory=frozenset)
    #: Auto-capture: take the image after this many steady, good previews
    #: (:class:`drivers.preview_gate.PreviewGate`); 0 lets the device decide.
    stable_frames: int = 0
    #: The enrolment this capture belongs to (opaque). Devices that chain their
    #: captures (MOSIP SBI ``previousHash``) keep one chain per enrolment id.
    enrolment_id: str = ""


@dataclass(frozen=True, eq=False)
class FingerprintImage:
    """A captured friction-ridge image: grayscale uint8, dark ridges on light."""

    pixels: ImageU8
    ppi: int
    kind: CaptureKind
    position: FingerPosition
    timestamp: float  # time.time() at capture (wall clock, for the manifest)
    device_id: str = ""


@dataclass(frozen=True, eq=False)
class ReaderEvent:
    """A state change or preview the UI can show while a capture runs."""

    state: CaptureState
    message_key: str
    timestamp: float
    preview: ImageU8 | None = None


ReaderEventCallback = Callable[[ReaderEvent], None]


@runtime_checkable
class FingerprintReader(Protocol):
    """A fingerprint reader with an explicit capture state machine.

    ``capture`` walks idle -> awaiting_finger -> capturing -> awaiting_lift ->
    idle, emitting a :class:`ReaderEvent` at each step. Any error returns the
    machine to idle.
    """

    @property
    def info(self) -> DeviceInfo: ...

    @property
    def state(self) -> DeviceState: ...

    @property
    def capture_state(self) -> CaptureState: ...

    @property
    def supported_kinds(self) -> frozenset[CaptureKind]: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def capture(
        self, request: CaptureRequest, on_event: ReaderEventCallback | None = None
    ) -> FingerprintImage:
        """Run one capture; raise a :class:`drivers.errors.DeviceError` on failure."""

    async def cancel(self) -> None:
        """Abort a running capture; it raises :class:`drivers.errors.CaptureCancelled`."""

    async def warm_up(self) -> None:
        """Prepare, before the kiosk says READY, what the first capture would otherwise pay."""


class DeviceDiscovery(Protocol):
    """Something that can enumerate attached devices (USB bus, SBI ports)."""

    def discover(self) -> AsyncIterator[DeviceInfo]: ...


# ----------------------------------------------------------------- document reader


@dataclass(frozen=True)
class CardInfo:
    """A contactless document (chip) present in a reader's field."""

    reader: str  # the PC/SC reader name
    atr: bytes  # answer to reset (ATS-derived for ISO 14443 cards)
    #: Both the card and the reader take extended-length APDUs (Lc/Le > 255/256).
    extended_length: bool = False


@runtime_checkable
class CardChannel(Protocol):
    """A connection to one presented card: raw APDUs in, raw responses (with SW) out.

    ``transmit`` blocks; callers run it in a worker thread. A card that leaves
    the field raises :class:`drivers.errors.DeviceDisconnected` (the chip code
    raises its subclass ``CardRemoved``).
    """

    @property
    def card(self) -> CardInfo: ...

    def transmit(self, apdu: bytes) -> bytes: ...

    def close(self) -> None:
        """Release the card. Safe to call twice."""


@runtime_checkable
class DocumentReader(Protocol):
    """A contactless (ISO 14443) reader for passport and residence-permit chips."""

    @property
    def info(self) -> DeviceInfo: ...

    @property
    def state(self) -> DeviceState: ...

    async def open(self) -> None:
        """Find the reader; raise :class:`drivers.errors.DeviceError` when it is absent."""

    async def close(self) -> None:
        """Release the reader. Safe to call twice."""

    async def wait_for_card(self, timeout_s: float = 10.0) -> CardChannel:
        """Wait until a document is in the field and connect to it (``DeviceTimeout``)."""


# ------------------------------------------------------------------- receipt printer


@dataclass(frozen=True, eq=False)
class PrintJob:
    """A receipt to print: the rendered page (grey, uint8, dark ink on white paper,
    as wide as the paper's printable dots) and the QR code's text printed under it."""

    image: ImageU8
    qr: str | None = None


@runtime_checkable
class ReceiptPrinter(Protocol):
    """A receipt printer (ESC/POS thermal, or the simulated one)."""

    @property
    def info(self) -> DeviceInfo: ...

    @property
    def state(self) -> DeviceState: ...

    @property
    def paper_width_px(self) -> int: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def print_job(self, job: PrintJob) -> None:
        """Print and cut; raise a :class:`drivers.errors.DeviceError` on failure."""
