"""Prometheus metrics of the appliance, served at ``/metrics`` by the local web API.

Counters are updated where things happen; gauges read the live state when
scraped (outbox depth/age, device states, certificate days left), so they are
never stale. No label ever carries personal data.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class ApplianceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.captures = Counter(
            "appliance_captures", "Captures taken", ["type"], registry=self.registry
        )
        self.quality_rejects = Counter(
            "appliance_quality_rejects",
            "Captures rejected by a quality check",
            ["check"],
            registry=self.registry,
        )
        self.device_errors = Counter(
            "appliance_device_errors", "Device errors", ["role", "error"], registry=self.registry
        )
        self.packets_sealed = Counter(
            "appliance_packets_sealed", "Packets sealed into the outbox", registry=self.registry
        )
        self.upload_latency = Histogram(
            "appliance_upload_seconds",
            "Upload to verified receipt, per packet",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "appliance_outbox_depth", "Packets waiting for central", registry=self.registry
        )
        self.outbox_oldest = Gauge(
            "appliance_outbox_oldest_age_seconds",
            "Age of the oldest queued packet",
            registry=self.registry,
        )
        self.outbox_quarantined = Gauge(
            "appliance_outbox_quarantined", "Packets quarantined as corrupt", registry=self.registry
        )
        self.certificate_days = Gauge(
            "appliance_certificate_days_left",
            "Days until the device certificate expires",
            registry=self.registry,
        )
        self.devices_ready = Gauge(
            "appliance_device_ready",
            "1 when the device is usable",
            ["role"],
            registry=self.registry,
        )
        self._refreshers: list[Callable[[], None]] = []

    def on_scrape(self, refresh: Callable[[], None]) -> None:
        self._refreshers.append(refresh)

    def render(self) -> bytes:
        for refresh in self._refreshers:
            refresh()
        return bytes(generate_latest(self.registry))


def certificate_days_left(not_after_timestamp: float) -> float:
    return (not_after_timestamp - time.time()) / 86400
