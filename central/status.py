"""``DeviceStatusService``: heartbeats, managed config, the approved-device list."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import OrderedDict
from pathlib import Path
from typing import Any

from aima.enrolment.v1 import device_status_pb2, device_status_pb2_grpc
from central.keys_proto import encryption_keys
from central.peer import authenticated_device, timestamp
from central.rpc_errors import abort
from central.state import ReceiverState
from central.storage import HeartbeatRecord

#: Last heartbeat per device kept in memory for tools and tests (storage has them all).
RECENT_HEARTBEATS = 10_000


class StatusServicer(device_status_pb2_grpc.DeviceStatusServiceServicer):
    def __init__(self, state: ReceiverState, allowlist: Path | None) -> None:
        self._state = state
        self._allowlist = allowlist
        self.last_heartbeat: OrderedDict[str, Any] = OrderedDict()

    async def Heartbeat(self, request: Any, context: Any) -> Any:
        device_id = await authenticated_device(self._state, context)
        now = dt.datetime.now(dt.UTC)
        await self._state.storage.record_heartbeat(
            HeartbeatRecord(
                device_id=device_id,
                received_at=now,
                software_version=request.software_version[:64],
                outbox_depth=request.outbox_depth,
                outbox_quarantined=request.outbox_quarantined,
            )
        )
        self.last_heartbeat[device_id] = request
        self.last_heartbeat.move_to_end(device_id)
        while len(self.last_heartbeat) > RECENT_HEARTBEATS:
            self.last_heartbeat.popitem(last=False)
        return device_status_pb2.HeartbeatResponse(
            server_time=timestamp(now),
            config_version="none",
            allowlist_version=self._allowlist_version(),
            encryption_keys=encryption_keys(self._state),
        )

    async def GetDeviceConfig(self, request: Any, context: Any) -> Any:
        await authenticated_device(self._state, context)
        await abort(context, "NO_MANAGED_CONFIG", "no managed config for this device")

    async def GetApprovedDevices(self, request: Any, context: Any) -> Any:
        await authenticated_device(self._state, context)
        version = self._allowlist_version()
        if request.known_version == version or self._allowlist is None:
            return device_status_pb2.GetApprovedDevicesResponse(version=version)
        from ruamel.yaml import YAML

        data = YAML(typ="safe").load(self._allowlist.read_text())
        devices = [
            device_status_pb2.ApprovedDevice(
                usb_vid=int(d["vid"]),
                usb_pid=int(d["pid"]),
                kind=d["kind"],
                vendor=d.get("vendor", ""),
                model=d["model"],
                min_firmware=d.get("min_firmware", ""),
                certification=d.get("certification", ""),
                capture_profile=d.get("capture_profile", ""),
            )
            for d in data.get("devices", [])
        ]
        return device_status_pb2.GetApprovedDevicesResponse(version=version, devices=devices)

    def _allowlist_version(self) -> str:
        if self._allowlist is None or not self._allowlist.exists():
            return "none"
        return hashlib.sha256(self._allowlist.read_bytes()).hexdigest()[:16]
