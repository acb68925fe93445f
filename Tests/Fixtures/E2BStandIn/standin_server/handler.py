"""The request handler both servers share: dispatch to a route, count the call, apply armed
faults, and write answers (whole, or chunked for Connect streams) over HTTP/1.1 keep-alive."""

from __future__ import annotations

import socket
import sys
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Optional
from urllib.parse import parse_qs, unquote, urlsplit

from .faults import Fault
from .httpio import BodyReader, HTTPFailure, Response, redacted_headers

MALFORMED_BODY = b'{"code": 200, "message": "this body is cut short on purpose'


class StreamCut(Exception):
    """The stream's connection was cut (by a fault, the client, or the sandbox going)."""


class StandinHandler(BaseHTTPRequestHandler):
    """Shared HTTP machinery; subclasses implement `route()`.

    `route(method, segments)` returns (route name, callable, args); the callable gets the
    handler first and returns a Response, or None when it streamed the answer itself.
    """

    protocol_version = "HTTP/1.1"
    server_kind = "?"  # "api" or "envd", for faults and logs
    timeout = 120  # idle keep-alive connections are closed after this many seconds

    # --- dispatch ---------------------------------------------------------------------------

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    @property
    def ctx(self):
        """The server's shared context (registry, faults, options)."""
        return self.server.ctx

    def _dispatch(self) -> None:
        self.fault: Optional[Fault] = None
        self.answered = False
        self.sent_status = 0  # what actually went out, for the log line
        self.body_reader: Optional[BodyReader] = None
        parts = urlsplit(self.path)
        self.url_path = parts.path
        self.query = parse_qs(parts.query, keep_blank_values=True)
        segments = [unquote(s) for s in parts.path.split("/")[1:]]
        try:
            route, fn, args = self.route(self.command, segments)
            if not route.startswith("_standin"):
                self.ctx.registry.record_call(route, redacted_headers(self.headers))
                self.fault = self.ctx.faults.take(self.server_kind, self.command, self.url_path)
                if self.fault is not None and self._fault_short_circuits():
                    return
            response = fn(self, *args)
            if response is not None:
                self.send(response)
        except HTTPFailure as e:
            self._fail(e)
        except (StreamCut, BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self._fail(HTTPFailure(500, "The stand-in failed to handle this request."))
        finally:
            self._finish_body()
        if self.sent_status:
            self.log_line(self.sent_status)

    def _fault_short_circuits(self) -> bool:
        """Apply a fault that acts before the route runs; True when the request is answered."""
        fault = self.fault
        if fault.action == "delay":
            time.sleep(fault.delay_ms / 1000.0)  # server-side latency on purpose
            self.fault = None
            return False
        if fault.action == "status" and not fault.execute:
            self.body().drain()
            self.send(self._fault_response(fault), apply_fault=False)
            self.log_line(self.sent_status)
            return True
        return False

    @staticmethod
    def _fault_response(fault: Fault) -> Response:
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        message = fault.message or f"Injected fault: status {fault.status}."
        return Response.error(fault.status, message, headers)

    def _fail(self, e: HTTPFailure) -> None:
        if self.answered:
            self.close_connection = True
            return
        # Read what is left of the body first: closing a socket with unread input makes the
        # kernel send a reset, which can destroy this answer before the client reads it.
        self._finish_body()
        resp = Response.json(e.status, e.body, e.headers)
        self.send(resp, apply_fault=False)

    def _finish_body(self) -> None:
        """Consume what is left of the body so keep-alive stays in step."""
        try:
            reader = self.body()
            if not reader.finished and not self.close_connection:
                reader.drain()
        except (HTTPFailure, OSError):
            self.close_connection = True  # unreadable or too large: the connection cannot go on

    def body(self, limit: Optional[int] = None) -> BodyReader:
        """The request body reader (created once, bounded by `limit` or the JSON limit)."""
        if self.body_reader is None:
            self.body_reader = BodyReader(self.rfile, self.headers, limit or self.ctx.max_json_bytes)
        return self.body_reader

    # --- whole answers ----------------------------------------------------------------------

    def _head(self, status: int, headers: dict) -> bytes:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Client Closed Request" if status == 499 else "Status"
        lines = [f"HTTP/1.1 {status} {reason}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send(self, resp: Response, apply_fault: bool = True) -> None:
        """Write a whole answer, applying an armed fault (answer swap, garbling, cut)."""
        fault = self.fault if apply_fault else None
        if fault is not None and fault.action == "status":
            resp = self._fault_response(fault)  # the request ran; its answer is lost
        body = resp.body
        if fault is not None and fault.action == "malformed":
            body = MALFORMED_BODY
        headers = dict(resp.headers)
        if resp.status != 204 and resp.status >= 200:
            headers["Content-Length"] = str(len(body))
        else:
            body = b""
        if self.close_connection:
            headers["Connection"] = "close"
        raw = self._head(resp.status, headers) + body
        self.answered = True
        self.sent_status = resp.status
        if fault is not None and fault.action in ("drop", "truncate"):
            self._cut_after(raw[: max(1, len(raw) // 2)])
        self.wfile.write(raw)
        self.wfile.flush()

    def _cut_after(self, data: bytes) -> None:
        """Send `data`, then end the connection mid-answer."""
        try:
            self.wfile.write(data)
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True
        raise StreamCut()

    # --- streamed answers (Connect server streams) ------------------------------------------

    def stream_begin(self, headers: dict) -> None:
        """Start a 200 answer with a chunked body (or, under an executed `status` fault, send
        that status instead and end the connection: the call ran, its answer is lost)."""
        if self.fault is not None and self.fault.action == "status":
            self.close_connection = True
            self.send(self._fault_response(self.fault), apply_fault=False)
            raise StreamCut()
        headers = dict(headers)
        headers["Transfer-Encoding"] = "chunked"
        self.answered = True
        self.sent_status = 200
        self.frames_sent = 0
        self._stream_write(self._head(200, headers))

    def stream_frame(self, frame: bytes) -> None:
        """One envelope as one chunk; a `drop` fault cuts the connection after the first."""
        if self.fault is not None and self.fault.action == "drop" and self.frames_sent >= 1:
            self._cut_after(b"%x\r\n" % len(frame) + frame[: len(frame) // 2])
        if self.fault is not None and self.fault.action == "malformed" and self.frames_sent == 0:
            frame = frame[:1] + len(MALFORMED_BODY).to_bytes(4, "big") + MALFORMED_BODY
        self._stream_write(b"%x\r\n%s\r\n" % (len(frame), frame))
        self.frames_sent += 1

    def stream_end(self, end: bytes) -> None:
        """The end-of-stream envelope, then the chunked terminator. A `truncate` fault leaves
        the envelope out, so the stream ends cleanly at HTTP level but incomplete for Connect."""
        if self.fault is None or self.fault.action != "truncate":
            self.stream_frame(end)
        self._stream_write(b"0\r\n\r\n")

    def _stream_write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            raise StreamCut()

    # --- logging ----------------------------------------------------------------------------

    def log_line(self, status: int) -> None:
        """One line per request: method, path (never the query or headers: they may hold
        secrets), status."""
        if self.ctx.verbose:
            print(f"standin {self.server_kind}: {self.command} {self.url_path} -> {status}",
                  file=sys.stderr, flush=True)

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass  # our own log_line replaces the default access log, which prints query strings
