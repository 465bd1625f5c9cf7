"""gRPC services of the reference receiver (contract ``aima.enrolment.v1``).

One module per service: :mod:`central.enrolment`, :mod:`central.upload`,
:mod:`central.status`; what they share is :class:`central.state.ReceiverState`.
Client certificates are optional at the TLS layer of the enrolment port and
required by every RPC except ``EnrolDevice``: the servicer checks the peer
certificate against the device CA and the revocations in storage and takes the
device id from it. This module keeps the names other code imports.
"""

from central.enrolment import EnrolmentServicer
from central.state import IndexOnlySink, PacketSink, ReceiverState
from central.status import StatusServicer
from central.upload import UploadServicer

__all__ = [
    "EnrolmentServicer",
    "IndexOnlySink",
    "PacketSink",
    "ReceiverState",
    "StatusServicer",
    "UploadServicer",
]
