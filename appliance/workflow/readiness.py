"""Which devices each step needs, and what the operator can do when one is not ready.

An enrolment does not start while a device it will need is not usable: the
operator sees which one and what to do. During a step, a device fault is
shown to the operator (never in the applicant's panel) with its recovery
action, in the operator's language (the UI translates the keys):

- ``retry``: a transient fault (timeout, corrupt frame, device error); the
  device supervisor restarts the device within its budget, the operator tries
  the capture again;
- ``reconnect``: the device is unplugged; a replugged device is reopened at once
  (USB hotplug);
- ``call_technician``: the restart budget is spent, the device is refused by the
  approved-device list, or it is not configured. Only a technician's reset
  (``/api/tech/devices/{role}/reset``) brings it back: operators do not reset
  the budget, which exists to stop a failing device from being hammered.
"""

from __future__ import annotations

from appliance.capture.devices import DeviceAccess
from appliance.devices import DeviceRole
from appliance.workflow.state import Step
from appliance.workflow.view import DeviceProblemView

CALL_TECHNICIAN = frozenset(
    {
        "device.restart_budget_exhausted",
        "device.not_approved",
        "device.not_configured",
        "device.access_denied",
    }
)
RECONNECT = frozenset({"device.disconnected"})


def roles_for(step: Step | None, devices: DeviceAccess) -> tuple[DeviceRole, ...]:
    """The devices ``step`` uses; ``None`` (starting) means every device of the enrolment."""
    document = devices.document_role()
    roles: tuple[DeviceRole, ...]
    if step is None or step is Step.CONSENT:
        roles = (DeviceRole.FACE_CAMERA, DeviceRole.FINGERPRINT_READER, document)
    elif step is Step.FACE:
        roles = (DeviceRole.FACE_CAMERA,)
    elif step is Step.FINGERPRINTS:
        roles = (DeviceRole.FINGERPRINT_READER,)
    elif step is Step.DOCUMENTS:
        roles = (document,)
    else:
        roles = ()
    return tuple(dict.fromkeys(roles))


def recovery_action(message_key: str, state: str) -> str:
    if message_key in CALL_TECHNICIAN or state == "refused":
        return "call_technician"
    if message_key in RECONNECT:
        return "reconnect"
    return "retry"


def device_problems(
    devices: DeviceAccess, roles: tuple[DeviceRole, ...]
) -> list[DeviceProblemView]:
    return [
        DeviceProblemView(
            p.role.value,
            p.state.value,
            p.message_key,
            recovery_action(p.message_key, p.state.value),
        )
        for p in devices.problems(roles)
    ]
