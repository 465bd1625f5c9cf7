"""The one fingerprint capture skeleton shared by every reader driver.

:class:`CaptureStateMachine`: idle -> awaiting_finger -> capturing ->
awaiting_lift -> idle, and any state back to idle on error or cancel. Drivers
call :meth:`CaptureStateMachine.to`; an illegal transition raises
:class:`drivers.errors.InvalidStateTransition` so a driver bug cannot silently
skip the finger-lift step.

:class:`ReaderCore` owns a reader's device state and its state machine, and
:meth:`ReaderCore.capturing` is the capture skeleton every driver runs its
device-specific steps inside. It holds the busy / ready / disconnected policy,
so every driver reports the same state after the same failure:

=========================  ===============================  ====================
what ended the capture     capture state                    device state
=========================  ===============================  ====================
success                    idle                             ready
DeviceDisconnected         idle ("device.disconnected")     disconnected
CaptureCancelled           idle ("capture.cancelled")       ready
other DeviceError          idle (the error's message key)   :func:`state_for_error`
anything else (task        idle                             ready
cancellation, a bug)
=========================  ===============================  ====================
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from drivers.errors import (
    CaptureCancelled,
    DeviceDisconnected,
    DeviceError,
    InvalidStateTransition,
    state_for_error,
)
from drivers.interfaces import (
    CaptureKind,
    CaptureRequest,
    CaptureState,
    DeviceInfo,
    DeviceState,
    ImageU8,
    ReaderEvent,
    ReaderEventCallback,
)

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


class ReaderCore:
    """A reader's device state and capture state machine, and the capture skeleton."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.state = DeviceState.CLOSED
        self.machine = CaptureStateMachine()

    @property
    def capture_state(self) -> CaptureState:
        return self.machine.state

    def check_ready(self, request: CaptureRequest, supported: frozenset[CaptureKind]) -> None:
        """Refuse a capture the reader cannot start now."""
        if self.state is DeviceState.DISCONNECTED:
            raise DeviceDisconnected("reader is disconnected", device_id=self.device_id)
        if self.state is not DeviceState.READY:
            raise DeviceError(f"reader is {self.state}", device_id=self.device_id)
        if request.kind not in supported:
            raise DeviceError(
                f"{request.kind} is not supported by this reader", device_id=self.device_id
            )

    @contextlib.asynccontextmanager
    async def capturing(
        self,
        request: CaptureRequest,
        supported: frozenset[CaptureKind],
        on_event: ReaderEventCallback | None,
        *,
        on_disconnect: Callable[[], Awaitable[None]] | None = None,
    ) -> AsyncIterator[CaptureStateMachine]:
        """Run one capture: the body moves through capturing and awaiting_lift.

        The skeleton checks readiness, marks the reader busy, enters
        awaiting_finger, and on leaving applies the policy in the module
        docstring (``on_disconnect`` releases the driver's transport).
        """
        self.check_ready(request, supported)
        self.machine.listen(on_event)
        self.state = DeviceState.BUSY
        try:
            self.machine.to(CaptureState.AWAITING_FINGER)
            yield self.machine
            if self.machine.state is CaptureState.CAPTURING:
                self.machine.to(CaptureState.AWAITING_LIFT)
            if self.machine.state is not CaptureState.IDLE:
                self.machine.to(CaptureState.IDLE)
        except DeviceDisconnected as exc:
            exc.device_id = exc.device_id or self.device_id
            self.machine.reset("device.disconnected")
            self.state = DeviceState.DISCONNECTED
            if on_disconnect is not None:
                await on_disconnect()
            raise
        except CaptureCancelled as exc:
            exc.device_id = exc.device_id or self.device_id
            self.machine.reset(exc.message_key)
            self.state = DeviceState.READY
            raise
        except DeviceError as exc:
            exc.device_id = exc.device_id or self.device_id
            self.machine.reset(exc.message_key)
            self.state = state_for_error(exc)
            raise
        except BaseException:
            self.machine.reset()
            self.state = DeviceState.READY
            raise
        finally:
            self.machine.listen(None)
        self.state = DeviceState.READY


class CoreReader:
    """The accessors every reader driver offers, read from its :class:`ReaderCore`.

    A driver subclasses it, sets ``self._core`` and ``self._info``, and adds
    ``supported_kinds`` and the device-specific capture steps.
    """

    _core: ReaderCore
    _info: DeviceInfo

    @property
    def info(self) -> DeviceInfo:
        return self._info

    @property
    def state(self) -> DeviceState:
        return self._core.state

    @property
    def capture_state(self) -> CaptureState:
        return self._core.capture_state

    async def warm_up(self) -> None:
        """Nothing to prepare ahead on a physical reader (the simulated one synthesises)."""
