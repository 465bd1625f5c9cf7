"""Turn a servicer into hardened gRPC handlers: decode, translate errors, measure.

The generated ``add_*Servicer_to_server`` decode requests inside grpc, where a
garbage message becomes ``UNKNOWN`` and a logged traceback. Here each method
receives raw bytes and decodes them itself, so:

- an undecodable message is ``INVALID_ARGUMENT`` / ``MALFORMED_REQUEST`` (every RPC,
  every message of a stream), with no traceback;
- :class:`~central.storage.StorageUnavailable` is ``UNAVAILABLE`` /
  ``STORAGE_UNAVAILABLE`` (the kiosk retries, perhaps on another replica);
- any other exception is ``INTERNAL`` with a one-line log naming only its type
  (no request content, no personal data);
- every RPC is counted by method and status code, and timed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError

from central.metrics import ReceiverMetrics
from central.rpc_errors import abort
from central.storage import StorageUnavailable

logger = logging.getLogger(__name__)


class _Malformed(Exception):
    pass


def service_handler(
    servicer: object, service: ServiceDescriptor, metrics: ReceiverMetrics
) -> grpc.GenericRpcHandler[Any, Any]:
    handlers = {
        method.name: _method_handler(getattr(servicer, method.name), method, metrics)
        for method in service.methods
    }
    return grpc.method_handlers_generic_handler(service.full_name, handlers)


def _method_handler(
    implementation: Callable[[Any, Any], Awaitable[Any]],
    method: MethodDescriptor,
    metrics: ReceiverMetrics,
) -> grpc.RpcMethodHandler[Any, Any]:
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    name = method.name

    def decode(raw: bytes) -> Any:
        try:
            return request_class.FromString(raw)
        except DecodeError:
            raise _Malformed from None

    async def guarded(make_request: Callable[[], Any], context: Any) -> Any:
        started = time.perf_counter()
        code = "OK"
        try:
            return await implementation(make_request(), context)
        except _Malformed:
            code = grpc.StatusCode.INVALID_ARGUMENT.name
            await abort(context, "MALFORMED_REQUEST", f"{name}: request is not a valid message")
        except StorageUnavailable as exc:
            code = grpc.StatusCode.UNAVAILABLE.name
            logger.warning("%s: %s", name, exc)
            await abort(context, "STORAGE_UNAVAILABLE", str(exc), component=exc.component)
        except grpc.aio.AbortError:
            code = _code_of(context)
            raise
        except Exception as exc:
            code = grpc.StatusCode.INTERNAL.name
            logger.error("%s failed: %s", name, type(exc).__name__)
            await abort(context, "INTERNAL", "internal error")
        finally:
            metrics.observe(name, code, time.perf_counter() - started)

    if method.client_streaming:

        async def stream_unary(request_iterator: AsyncIterator[bytes], context: Any) -> Any:
            async def requests() -> AsyncIterator[Any]:
                async for raw in request_iterator:
                    yield decode(raw)

            return await guarded(requests, context)

        return grpc.stream_unary_rpc_method_handler(
            stream_unary, response_serializer=response_class.SerializeToString
        )

    async def unary_unary(raw: bytes, context: Any) -> Any:
        return await guarded(lambda: decode(raw), context)

    return grpc.unary_unary_rpc_method_handler(
        unary_unary, response_serializer=response_class.SerializeToString
    )


def _code_of(context: Any) -> str:
    try:
        code = context.code()
    except (AttributeError, NotImplementedError):
        return "ABORTED_UNKNOWN"
    return code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
