"""The fingerprint capture state machine shared by every reader driver.

idle -> awaiting_finger -> capturing -> awaiting_lift -> idle, and any state
back to idle on error or cancel. Drivers call :meth:`CaptureStateMachine.to`;
an illegal transition raises :class:`drivers.errors.InvalidStateTransition`
so a driver bug cannot silently skip the finger-lift step.
"""

from __future__ import annotations

import time

from drivers.errors import InvalidStateTransition
from drivers.interfaces import CaptureState, ImageU8, ReaderEvent, ReaderEventCallback

_ALLOWED: dict[CaptureState, frozenset[CaptureState]] = {
    CaptureState.IDLE: frozenset({CaptureState.AWAITING_FINGER}),
    CaptureState.AWAITING_FINGER: frozenset({CaptureState.CAPTURING, CaptureState.IDLE}),
    CaptureState.CAPTURING: frozenset({CaptureState.AWAITING_LIFT, CaptureState.IDLE}),
    CaptureState.AWAITING_LIFT: frozenset({CaptureState.IDLE}),
}

#: The UI message key announced on entering each state.
STATE_MESSAGES: dict[CaptureState, str] = {
    CaptureState.IDLE: "finger.idle",
    CaptureState.AWAITING_FINGER: "finger.place",
    CaptureState.CAPTURING: "finger.hold_still",
    CaptureState.AWAITING_LIFT: "finger.lift",
}


class CaptureStateMachine:
    """Tracks one reader's capture state and reports every change."""

    def __init__(self) -> None:
        self._state = CaptureState.IDLE
        self._listener: ReaderEventCallback | None = None

    @property
    def state(self) -> CaptureState:
        return self._state

    def listen(self, callback: ReaderEventCallback | None) -> None:
        self._listener = callback

    def to(self, new: CaptureState, message_key: str | None = None) -> None:
        if new not in _ALLOWED[self._state]:
            raise InvalidStateTransition(f"capture state {self._state} -> {new} is not allowed")
        self._state = new
        self._emit(message_key or STATE_MESSAGES[new])

    def reset(self, message_key: str | None = None) -> None:
        """Return to idle from anywhere (error, cancel, unplug)."""
        if self._state is not CaptureState.IDLE:
            self._state = CaptureState.IDLE
            self._emit(message_key or STATE_MESSAGES[CaptureState.IDLE])

    def preview(self, image: ImageU8, message_key: str = "reader.preview") -> None:
        """Report a live preview frame in the current state."""
        self._emit(message_key, image)

    def _emit(self, message_key: str, preview: ImageU8 | None = None) -> None:
        if self._listener is not None:
            self._listener(ReaderEvent(self._state, message_key, time.time(), preview))
