"""Heartbeats: tell central the kiosk's devices, outbox depth and versions; watch the clock.

Central answers with its own time; a drift over :data:`MAX_CLOCK_DRIFT_S` is
reported (packets still flow: central checks certificates with its own
clock, and the kiosk's timestamps are only informative), so that a technician
fixes NTP before certificates or tokens are affected.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from aima.enrolment.v1 import common_pb2, device_status_pb2, device_status_pb2_grpc
from appliance import __version__
from appliance.outbox import Outbox
from appliance.tasks import cancel_and_wait
from drivers.interfaces import DeviceInfo, DeviceState

logger = logging.getLogger(__name__)

MAX_CLOCK_DRIFT_S = 120.0

DeviceLister = Callable[[], list[tuple[DeviceInfo, DeviceState, str | None]]]


@dataclass
class HeartbeatResult:
    server_time: dt.datetime
    drift_s: float  # central minus local, corrected for half the round trip

    @property
    def clock_ok(self) -> bool:
        return abs(self.drift_s) <= MAX_CLOCK_DRIFT_S


class Heartbeat:
    def __init__(
        self,
        channel: grpc.aio.Channel,
        outbox: Outbox,
        devices: DeviceLister,
        certificate_expiry: dt.datetime,
        interval_s: float = 60.0,
    ) -> None:
        self._stub = device_status_pb2_grpc.DeviceStatusServiceStub(channel)
        self._outbox = outbox
        self._devices = devices
        self._expiry = certificate_expiry
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None
        self.last: HeartbeatResult | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="heartbeat")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.beat()
            except grpc.aio.AioRpcError as exc:
                logger.info("heartbeat failed: %s", exc.code().name)
            await asyncio.sleep(self._interval)

    async def beat(self) -> HeartbeatResult:
        status = await asyncio.to_thread(self._outbox.status)
        now = dt.datetime.now(dt.UTC)
        sent = Timestamp()
        sent.FromDatetime(now)
        request = device_status_pb2.HeartbeatRequest(
            device_time=sent,
            software_version=__version__,
            devices=[
                common_pb2.DeviceReport(
                    device_id=info.device_id,
                    kind=info.kind.value,
                    driver=info.driver,
                    vendor=info.vendor,
                    model=info.model,
                    firmware=info.firmware,
                    usb_vid=info.usb_vid or 0,
                    usb_pid=info.usb_pid or 0,
                    state=state.value,
                    message_key=message or "",
                )
                for info, state, message in self._devices()
            ],
            outbox_depth=status.depth,
            outbox_bytes=status.bytes,
            outbox_oldest_age_s=int(status.oldest_age_s),
            outbox_quarantined=status.quarantined,
            certificate_days_left=(self._expiry - now).days,
        )
        response = await self._stub.Heartbeat(request, timeout=30)
        received = dt.datetime.now(dt.UTC)
        server = response.server_time.ToDatetime(tzinfo=dt.UTC)
        midpoint = now + (received - now) / 2
        result = HeartbeatResult(server, (server - midpoint).total_seconds())
        if not result.clock_ok:
            logger.warning(
                "kiosk clock differs from central by %.0f s (limit %.0f s): check NTP",
                result.drift_s,
                MAX_CLOCK_DRIFT_S,
            )
        self.last = result
        return result
