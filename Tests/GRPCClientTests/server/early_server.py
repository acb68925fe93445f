"""A raw HTTP/2 server (h2, no grpclib) that answers gRPC calls before it lets their request in.

It reproduces, without timing, what grpclib does to an unknown method when the client has not sent
its message yet: a trailers-only answer (HEADERS with END_STREAM) followed by RST_STREAM(NO_ERROR)
(RFC 9113 section 8.1 allows a server to answer before the request is complete, and says clients
must not discard that answer). To make "not sent yet" certain, the server advertises
SETTINGS_INITIAL_WINDOW_SIZE=0: from the client's acknowledgement on, a new stream cannot carry a
single DATA byte until the server opens its window. Each early answer and its reset go out in one
write, so the client reads them together.

Same ready handshake as server.py: --port-file (written atomically), then "ready" on stdout; it
exits when its stdin reaches EOF.

Methods (service test.Early); every call carries x-test-tag metadata, which the server counts:
  Ping       opens the stream's window, reads the message, echoes it (a client's first call, so
             that it has acknowledged the zero window before the calls under test)
  Always     answers every attempt early: grpc-status 12 "early answer to attempt N"
  LostOnce   answers the first attempt of a tag early; opens the window for a later one, reads its
             message, then answers grpc-status 12 "answer to attempt N after its message"
  AfterBody  opens the window, reads the message, then resets the stream (NO_ERROR) without
             any answer
  Count      opens the window, reads the message (a tag), answers with how many calls carried it
"""
import argparse
import asyncio
import os
import sys

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

UNIMPLEMENTED = b'12'


class EarlyAnswerProtocol(asyncio.Protocol):
    def __init__(self, attempts):
        self.attempts = attempts   # tag -> calls seen, shared by every connection
        self.calls = {}            # stream id -> [method, tag, attempt, body]

    def connection_made(self, transport):
        self.transport = transport
        self.connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
        self.connection.initiate_connection()
        # As an update rather than the initial settings: h2 applies it once the client acknowledges
        # it, so DATA a client sent before it read our settings is still within the window it knew.
        self.connection.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
        self.flush()

    def data_received(self, data):
        try:
            events = self.connection.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.transport.close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                self.request(event.stream_id, dict(event.headers))
            elif isinstance(event, h2.events.DataReceived):
                self.connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                if event.stream_id in self.calls:
                    self.calls[event.stream_id][3] += event.data
            elif isinstance(event, h2.events.StreamEnded):
                self.message_complete(event.stream_id)
        self.flush()

    def flush(self):
        out = self.connection.data_to_send()
        if out:
            self.transport.write(out)

    def request(self, stream_id, headers):
        method = headers.get(b':path', b'').decode()
        tag = headers.get(b'x-test-tag', b'').decode()
        self.attempts[tag] = self.attempts.get(tag, 0) + 1
        attempt = self.attempts[tag]
        self.calls[stream_id] = [method, tag, attempt, b'']
        if method == '/test.Early/Always' or (method == '/test.Early/LostOnce' and attempt == 1):
            self.answer(stream_id, UNIMPLEMENTED, f'early answer to attempt {attempt}')
            try:
                self.connection.reset_stream(stream_id, h2.errors.ErrorCodes.NO_ERROR)
            except h2.exceptions.StreamClosedError:
                pass   # the client had sent its message before it knew the window: nothing to cut off
            del self.calls[stream_id]
        else:
            self.connection.increment_flow_control_window(65535, stream_id)

    def message_complete(self, stream_id):
        call = self.calls.pop(stream_id, None)
        if call is None:
            return
        method, tag, attempt, body = call
        if method == '/test.Early/AfterBody':
            self.connection.reset_stream(stream_id, h2.errors.ErrorCodes.NO_ERROR)
        elif method == '/test.Early/Ping':
            self.answer(stream_id, b'0', '', message=body[5:])
        elif method == '/test.Early/Count':
            self.answer(stream_id, b'0', '', message=str(self.attempts.get(body[5:].decode(), 0)).encode())
        else:
            self.answer(stream_id, UNIMPLEMENTED, f'answer to attempt {attempt} after its message')

    def answer(self, stream_id, status, text, message=None):
        """Trailers-only when there is no message; else headers, the message, trailers."""
        head = [(b':status', b'200'), (b'content-type', b'application/grpc')]
        trailers = [(b'grpc-status', status)] + ([(b'grpc-message', text.encode())] if text else [])
        if message is None:
            self.connection.send_headers(stream_id, head + trailers, end_stream=True)
            return
        self.connection.send_headers(stream_id, head)
        self.connection.send_data(stream_id, b'\0' + len(message).to_bytes(4, 'big') + message)
        self.connection.send_headers(stream_id, trailers, end_stream=True)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--port-file', required=True)
    args = parser.parse_args()

    attempts = {}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: EarlyAnswerProtocol(attempts), '127.0.0.1', 0)
    port = server.sockets[0].getsockname()[1]
    temporary = args.port_file + '.tmp'
    with open(temporary, 'w') as handle:
        handle.write(str(port))
    os.rename(temporary, args.port_file)
    print('ready', flush=True)

    # Serve until the test process closes our stdin (or dies).
    await loop.run_in_executor(None, sys.stdin.buffer.read)
    server.close()


if __name__ == '__main__':
    asyncio.run(main())
