"""Central's HPKE public keys as the contract's ``EncryptionKey`` messages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aima.enrolment.v1 import common_pb2
from central.peer import timestamp
from central.state import ReceiverState
from packet.keys import Suite

_SUITES = {
    Suite.X25519: common_pb2.HPKE_SUITE_X25519_SHA256_AES256GCM,
    Suite.MLKEM768_X25519: common_pb2.HPKE_SUITE_MLKEM768X25519_SHA256_AES256GCM,
}


def encryption_keys(state: ReceiverState) -> list[Any]:
    now = dt.datetime.now(dt.UTC)
    return [
        common_pb2.EncryptionKey(
            key_id=key.key_id,
            suite=_SUITES[key.suite],
            public_key=key.public().raw,
            not_before=timestamp(now - dt.timedelta(days=1)),
            not_after=timestamp(now + dt.timedelta(days=365)),
        )
        for key in state.encryption_keys
    ]
