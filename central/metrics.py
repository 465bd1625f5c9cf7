"""Prometheus metrics of the reference receiver (loopback HTTP endpoint)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, start_http_server

from central.service import ReceiverState


def serve_metrics(state: ReceiverState, port: int) -> CollectorRegistry:
    registry = CollectorRegistry()
    accepted = Gauge("receiver_packets_accepted", "Packets accepted since start", registry=registry)
    stored = Gauge("receiver_packets_stored", "Packets in the store", registry=registry)
    accepted.set_function(lambda: state.commits)
    stored.set_function(lambda: len(state.store.all_packets()))
    start_http_server(port, addr="127.0.0.1", registry=registry)
    return registry
