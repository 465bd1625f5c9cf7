"""Prometheus metrics of one receiver replica (each replica serves its own endpoint).

- ``central_rpc_total{method,code}``: finished RPCs by gRPC status code (errors by code);
- ``central_rpc_seconds{method}``: RPC latency histogram;
- ``central_upload_bytes_total``: bytes acknowledged by Write;
- ``central_uploads_started_total``: new uploads (first Write of a packet id);
- ``central_commits_total{result}``: ``accepted`` (new packet) or ``repeat`` (receipt re-sent);
- ``central_storage_up{component}``: 1 when the database / object store answered the
  last health probe;
- ``receiver_packets_accepted``: packets this replica accepted since it started;
- ``central_audit_entries_total``: record-of-operations entries stored;
- ``central_audit_checkpoints_total{result}``: kiosk checkpoints ``accepted``;
- ``central_audit_flags_total{kind}``: kiosks caught rewriting or truncating their
  log (``rewritten``, ``truncated``, ``inconsistent``, ``root_mismatch``,
  ``bad_signature``); every flag is also stored (``appliance-receiver report``);
- ``central_ledgers_total{result}``: daily ledgers received that ``matches`` /
  ``mismatch`` the receipts central issued.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ReceiverMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.rpcs = Counter(
            "central_rpc", "Finished RPCs by method and status code", ["method", "code"], registry=r
        )
        self.latency = Histogram(
            "central_rpc_seconds", "RPC latency", ["method"], buckets=_BUCKETS, registry=r
        )
        self.upload_bytes = Counter(
            "central_upload_bytes", "Bytes acknowledged by Write", registry=r
        )
        self.uploads_started = Counter(
            "central_uploads_started", "Uploads begun (first Write of a packet)", registry=r
        )
        self.commits = Counter(
            "central_commits", "Commits answered with a receipt", ["result"], registry=r
        )
        self.storage_up = Gauge(
            "central_storage_up", "1 when the storage component answered", ["component"], registry=r
        )
        self.accepted = Gauge(
            "receiver_packets_accepted", "Packets accepted by this replica since start", registry=r
        )
        self.audit_entries = Counter(
            "central_audit_entries", "Record-of-operations entries stored", registry=r
        )
        self.audit_checkpoints = Counter(
            "central_audit_checkpoints", "Kiosk checkpoints by result", ["result"], registry=r
        )
        self.audit_flags = Counter(
            "central_audit_flags",
            "Kiosk logs flagged as rewritten or truncated",
            ["kind"],
            registry=r,
        )
        self.ledgers = Counter(
            "central_ledgers", "Daily ledgers by reconciliation result", ["result"], registry=r
        )

    def observe(self, method: str, code: str, seconds: float) -> None:
        self.rpcs.labels(method=method, code=code).inc()
        self.latency.labels(method=method).observe(seconds)

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        start_http_server(port, addr=address, registry=self.registry)
