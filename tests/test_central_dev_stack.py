"""The dev stack's replicas start on loopback ports nobody else can take first."""

from __future__ import annotations

import socket
from pathlib import Path

from central.dev_engines import GRPC_TWIN, _ephemeral_low, free_port
from central.dev_stack import ReplicaProcess, init_identity


def test_free_ports_stay_below_the_kernels_ephemeral_range() -> None:
    low = _ephemeral_low()
    assert all(free_port() < low for _ in range(50))
    assert all(free_port(twin=GRPC_TWIN) + GRPC_TWIN < low for _ in range(50))


def test_a_first_start_on_a_port_taken_meanwhile_moves_to_fresh_ports(tmp_path: Path) -> None:
    init_identity(tmp_path / "identity")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        replica = ReplicaProcess(tmp_path / "identity", None, None, {}, upload_port=taken)
        try:
            replica.start()
            assert replica.upload_port != taken
            assert replica.started_once
        finally:
            replica.stop()
