"""A gRPC server on loopback for GRPCClientTests, on grpclib with a pass-through codec (raw bytes).

Started by the Swift tests: it binds 127.0.0.1 on a free port, writes the port to --port-file
(atomically), then prints "ready" on stdout: that line is the tests' ready handshake. It exits
when its stdin reaches EOF, so it never outlives the test process that started it.

Methods (service test.Echo; requests to the control methods are JSON):
  Unary        echoes the request bytes
  Stream       {"count": N, "size": S, "wait": NAME?, "code": C?, "message": M?}: N messages of S bytes
               ("message i" when S is 0); with "wait", pauses after the first until Release(NAME);
               with "code", ends with that status after the messages
  Status       {"code": C, "message": M, "mode": "trailers-only" | "trailers"}: answers that status,
               either in the single header block or in trailers after the headers
  Slow         never answers (for deadlines and cancellation)
  Release      {"name": NAME}: lets a waiting Stream go on
  Large        {"size": S}: one message of S bytes
  Empty        a unary-looking method that sends no message and status OK
  Twice        a unary-looking method that sends two messages
  Hangup       {"name": NAME}: answers and remembers the connection it came on
  AwaitHangup  {"name": NAME}: closes that connection, answers once its socket is closed
  Calls        {"tag": T}: JSON list of the recorded calls whose x-test-tag metadata is T:
               method, metadata, peer port, user agent, remaining deadline, content type
"""
import argparse
import asyncio
import json
import os
import ssl
import sys

from grpclib.const import Cardinality, Handler, Status
from grpclib.encoding.base import CodecBase
from grpclib.events import RecvRequest, listen
from grpclib.exceptions import GRPCError
from grpclib.server import Server


class RawCodec(CodecBase):
    """Messages are bytes on both sides: the Swift client is what encodes protobuf."""
    __content_subtype__ = 'proto'

    def encode(self, message, message_type):
        return bytes(message)

    def decode(self, data, message_type):
        return bytes(data)


class EchoService:
    def __init__(self):
        self.calls = []
        self.releases = {}
        self.hangups = {}

    def release_event(self, name):
        return self.releases.setdefault(name, asyncio.Event())

    async def unary(self, stream):
        await stream.send_message(await stream.recv_message())

    async def stream(self, stream):
        request = json.loads(await stream.recv_message())
        for index in range(request['count']):
            size = request.get('size', 0)
            await stream.send_message(b'x' * size if size else f'message {index}'.encode())
            if index == 0 and request.get('wait'):
                await self.release_event(request['wait']).wait()
        if 'code' in request:
            raise GRPCError(Status(request['code']), request.get('message'))

    async def status(self, stream):
        request = json.loads(await stream.recv_message())
        if request.get('mode') == 'trailers':
            await stream.send_initial_metadata(metadata={'x-answer': 'headers-first'})
        raise GRPCError(Status(request['code']), request.get('message'))

    async def slow(self, stream):
        await stream.recv_message()
        await asyncio.Event().wait()

    async def release(self, stream):
        request = json.loads(await stream.recv_message())
        self.release_event(request['name']).set()
        await stream.send_message(b'')

    async def large(self, stream):
        request = json.loads(await stream.recv_message())
        await stream.send_message(b'L' * request['size'])

    async def empty(self, stream):
        await stream.recv_message()

    async def twice(self, stream):
        await stream.recv_message()
        await stream.send_message(b'one')
        await stream.send_message(b'two')

    async def hangup(self, stream):
        request = json.loads(await stream.recv_message())
        self.hangups[request['name']] = stream._stream._transport
        await stream.send_message(b'')

    async def await_hangup(self, stream):
        request = json.loads(await stream.recv_message())
        transport = self.hangups.pop(request['name'])
        protocol = transport.get_protocol()
        original = protocol.connection_lost
        closed = asyncio.Event()

        # asyncio closes the socket right after calling connection_lost.
        def lost(exc):
            original(exc)
            closed.set()
        protocol.connection_lost = lost
        transport.close()
        await closed.wait()
        await stream.send_message(b'')

    async def list_calls(self, stream):
        request = json.loads(await stream.recv_message())
        tagged = [call for call in self.calls if ['x-test-tag', request['tag']] in call['metadata']]
        await stream.send_message(json.dumps(tagged).encode())

    async def record(self, event):
        self.calls.append({
            'method': event.method_name,
            'metadata': [[key, value if isinstance(value, str) else value.hex()] for key, value in event.metadata.items()],
            'peer_port': event.peer.addr()[1],
            'user_agent': event.user_agent,
            'timeout': event.deadline.time_remaining() if event.deadline else None,
            'content_type': event.content_type,
        })

    def __mapping__(self):
        unary, stream = Cardinality.UNARY_UNARY, Cardinality.UNARY_STREAM
        methods = {
            'Unary': (self.unary, unary), 'Stream': (self.stream, stream), 'Status': (self.status, unary),
            'Slow': (self.slow, unary), 'Release': (self.release, unary), 'Large': (self.large, unary),
            'Empty': (self.empty, stream), 'Twice': (self.twice, stream), 'Calls': (self.list_calls, unary),
            'Hangup': (self.hangup, unary), 'AwaitHangup': (self.await_hangup, unary),
        }
        return {f'/test.Echo/{name}': Handler(func, cardinality, None, None)
                for name, (func, cardinality) in methods.items()}


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--port-file', required=True)
    parser.add_argument('--tls-cert')
    parser.add_argument('--tls-key')
    args = parser.parse_args()

    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        context.set_alpn_protocols(['h2'])

    service = EchoService()
    server = Server([service], codec=RawCodec())
    listen(server, RecvRequest, service.record)
    await server.start('127.0.0.1', 0, ssl=context)
    port = server._server.sockets[0].getsockname()[1]
    temporary = args.port_file + '.tmp'
    with open(temporary, 'w') as handle:
        handle.write(str(port))
    os.rename(temporary, args.port_file)
    print('ready', flush=True)

    # Serve until the test process closes our stdin (or dies).
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
    server.close()
    await server.wait_closed()


if __name__ == '__main__':
    asyncio.run(main())
