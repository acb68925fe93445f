"""Every gRPC call passes here first: it is counted, authenticated, given its injected fault, and
its request size is bounded, before the servicer's method runs.

grpclib has no interceptors; the stand-in rebuilds the servicer's `__mapping__` with each handler
wrapped, and hands the servicer a GuardedStream instead of grpclib's stream.
"""

import asyncio
import struct
from collections import Counter, defaultdict
from collections.abc import Callable

import grpclib.const
from google.protobuf import any_pb2
from grpclib import GRPCError, Status
from grpclib.encoding.base import StatusDetailsCodecBase

from faults import FaultBook
from modal_proto import api_pb2

MAX_REQUEST_BYTES = 4 * 1024 * 1024  # gRPC's usual default; Modal's calls here are far smaller


class StreamDropped(Exception):
    """Raised inside a handler once an injected `drop` fault has reset its stream."""


class RpcStatusCodec(StatusDetailsCodecBase):
    """Encodes error details as `grpc-status-details-bin` (an RPCStatus with Any details), the
    form Modal's client decodes, e.g. an RPCRetryPolicy on RESOURCE_EXHAUSTED."""

    def encode(self, status, message, details) -> bytes:
        rpc_status = api_pb2.RPCStatus(code=status.value, message=message or "")
        for detail in details or []:
            packed = any_pb2.Any()
            packed.Pack(detail)
            rpc_status.details.append(packed)
        return rpc_status.SerializeToString()

    def decode(self, status, message, data: bytes):
        return list(api_pb2.RPCStatus.FromString(data).details)


class CallStats:
    """Calls per method and how they ended; touched only on the event loop."""

    def __init__(self):
        self.calls: Counter[str] = Counter()
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)

    def describe(self) -> dict:
        return {
            "calls": dict(self.calls),
            "outcomes": {name: dict(c) for name, c in self.outcomes.items()},
        }


class GuardedStream:
    """The part of grpclib's server stream that servicers use, with bounded reads and drops."""

    def __init__(self, stream, drop_after: int | None, claims: dict | None):
        self._stream = stream
        self._drop_after = drop_after
        self._sent = 0
        self.claims = claims  # verified router JWT claims, for the router servicer

    @property
    def metadata(self):
        return self._stream.metadata

    @property
    def deadline(self):
        return self._stream.deadline

    async def recv_message(self):
        # grpclib reads any announced length; read the 5-byte prefix ourselves to bound it.
        # This uses grpclib 0.4.x internals (`_stream`, `_codec`, `_recv_type`), pinned in requirements.
        raw = self._stream._stream
        prefix = await raw.recv_data(5)
        if not prefix:
            return None
        if len(prefix) != 5:
            raise GRPCError(Status.INVALID_ARGUMENT, "The request ended inside a message prefix.")
        if prefix[0]:
            raise GRPCError(Status.UNIMPLEMENTED, "Compressed request messages are not supported.")
        (length,) = struct.unpack(">I", prefix[1:])
        if length > MAX_REQUEST_BYTES:
            raise GRPCError(
                Status.RESOURCE_EXHAUSTED,
                f"The request message has {length} bytes; at most {MAX_REQUEST_BYTES} are accepted.",
            )
        body = await raw.recv_data(length)
        if len(body) != length:
            raise GRPCError(Status.INVALID_ARGUMENT, "The request ended inside a message.")
        return self._stream._codec.decode(body, self._stream._recv_type)

    async def send_message(self, message) -> None:
        if self._drop_after is not None and self._sent >= self._drop_after:
            await self._stream.cancel()
            raise StreamDropped()
        await self._stream.send_message(message)
        self._sent += 1


# authorize(method, metadata) -> verified claims (or None) or raises GRPCError(UNAUTHENTICATED).
Authorizer = Callable[[str, object], dict | None]


class GuardedService:
    """A servicer whose handlers all run through `guard`; pass it to grpclib's Server."""

    def __init__(self, servicer, stats: CallStats, faults: FaultBook, authorize: Authorizer):
        self._mapping = {}
        for path, handler in servicer.__mapping__().items():
            name = path.rsplit("/", 1)[1]
            wrapped = _guard(name, handler.func, handler.cardinality, stats, faults, authorize)
            self._mapping[path] = grpclib.const.Handler(
                wrapped, handler.cardinality, handler.request_type, handler.reply_type
            )

    def __mapping__(self):
        return self._mapping


def _guard(name, func, cardinality, stats: CallStats, faults: FaultBook, authorize: Authorizer):
    async def handler(stream) -> None:
        stats.calls[name] += 1
        outcome = "OK"
        try:
            claims = authorize(name, stream.metadata)
            fault = faults.take(name)
            drop_after = None
            if fault is not None:
                if fault.action == "delay":
                    await asyncio.sleep(fault.delay_ms / 1000)
                elif fault.action == "drop":
                    default = 1 if cardinality.server_streaming else 0
                    drop_after = fault.after_messages if fault.after_messages is not None else default
                else:
                    details = None
                    if fault.retry_after_secs is not None:
                        details = [api_pb2.RPCRetryPolicy(retry_after_secs=fault.retry_after_secs)]
                    raise GRPCError(fault.status, fault.message, details)
            await func(GuardedStream(stream, drop_after, claims))
        except StreamDropped:
            outcome = "DROPPED"
        except GRPCError as exc:
            outcome = exc.status.name
            raise
        except asyncio.CancelledError:
            outcome = "CANCELLED"
            raise
        except Exception:
            outcome = "UNKNOWN"
            raise
        finally:
            stats.outcomes[name][outcome] += 1

    return handler


def fill_unimplemented(base: type) -> type:
    """A subclass of a generated servicer base whose every abstract method answers UNIMPLEMENTED.

    The wheel's bases declare each RPC abstract (they cannot be instantiated as they are), so the
    stand-in's servicers derive from this and override only what they serve.
    """

    def make(method_name: str):
        async def unimplemented(self, stream) -> None:
            raise GRPCError(Status.UNIMPLEMENTED, f"The stand-in does not serve {method_name}.")

        unimplemented.__name__ = method_name
        return unimplemented

    namespace = {name: make(name) for name in base.__abstractmethods__}
    return type(f"Unimplemented{base.__name__}", (base,), namespace)
