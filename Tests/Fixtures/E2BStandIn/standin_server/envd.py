"""envd, the agent inside each sandbox, for every sandbox at one address: requests name their
sandbox in `E2b-Sandbox-Id` and prove access with `X-Access-Token` (as through E2B's proxy).
Serves the process service over Connect RPC, `/files` and `/health`."""

from __future__ import annotations

import base64
import binascii
import hmac
import queue
import signal
from typing import Callable

from . import files
from .connect import (CODE_TO_STATUS, STREAM_CONTENT_TYPE, UNARY_CONTENT_TYPE, ConnectFailure, encode_frame,
                      end_frame, read_frame, read_single_message)
from .handler import StandinHandler
from .httpio import HTTPFailure, Response, parse_json_object
from .sandbox import Sandbox

SIGNALS = {"SIGNAL_SIGTERM": signal.SIGTERM, "SIGNAL_SIGKILL": signal.SIGKILL, 15: signal.SIGTERM,
           9: signal.SIGKILL}
KEEPALIVE_HEADER = "Keepalive-Ping-Interval"


class EnvdHandler(StandinHandler):
    """Routes of envd, shared by all sandboxes."""

    server_kind = "envd"

    def route(self, method: str, segments: list):
        path = "/" + "/".join(segments)
        if path == "/health" and method == "GET":
            return "GET /health", lambda h: h.health(), []
        if path == "/files" and method == "GET":
            return "GET /files", lambda h: files.read_file(h, h.sandbox()), []
        if path == "/files" and method == "POST":
            return "POST /files", lambda h: files.write_files(h, h.sandbox()), []
        if len(segments) == 2 and segments[0] == "process.Process" and method == "POST":
            rpc = self.RPCS.get(segments[1])
            if rpc is not None:
                return f"POST {path}", rpc, []
        if len(segments) == 2 and "." in segments[0] and method == "POST":
            # Another Connect service (e.g. filesystem.Filesystem) the stand-in does not serve.
            return f"POST {path}", lambda h: h.unary(lambda sb, m: h._unimplemented(path)), []
        raise HTTPFailure(404, f"There is no route for {method} {self.url_path}.")

    # --- sandbox access ---------------------------------------------------------------------

    def sandbox(self) -> Sandbox:
        """The sandbox this request is for; the proxy's 502 when it does not exist (anymore)."""
        sandbox_id = self.headers.get("E2b-Sandbox-Id")
        if not sandbox_id:
            raise HTTPFailure(400, "The E2b-Sandbox-Id header is required.")
        sb = self.ctx.registry.get(sandbox_id)
        if sb is None:
            message = f"The sandbox {sandbox_id} was not found"
            raise HTTPFailure(502, message, body={"code": 502, "message": message, "sandboxId": sandbox_id})
        token = self.headers.get("X-Access-Token", "")
        if not hmac.compare_digest(token.encode(), sb.access_token.encode()):
            raise HTTPFailure(401, "The envd access token is missing or invalid.")
        return sb

    def health(self) -> Response:
        """GET /health: 204 while the sandbox runs."""
        self.sandbox()
        return Response(204)

    # --- unary RPCs -------------------------------------------------------------------------

    def unary(self, fn: Callable[[Sandbox, dict], dict]) -> Response:
        """Run a unary Connect call: JSON in, JSON out, errors as status + `{"code": string}`."""
        sb = self.sandbox()
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != UNARY_CONTENT_TYPE:
            raise HTTPFailure(415, f"Unary calls must be {UNARY_CONTENT_TYPE}.")
        try:
            message = parse_json_object(self.body(self.ctx.max_frame_bytes).read_all(), "RPC")
            return Response.json(200, fn(sb, message))
        except ConnectFailure as e:
            return Response.json(CODE_TO_STATUS[e.code], e.wire())

    @staticmethod
    def _unimplemented(path: str) -> dict:
        raise ConnectFailure("unimplemented", f"{path} is not implemented by the stand-in.")

    def rpc_list(self):
        return self.unary(lambda sb, m: {"processes": [
            p.describe() for p in list(sb.processes.values()) if not p.ended]})

    def rpc_send_signal(self):
        def run(sb, m):
            sig = SIGNALS.get(m.get("signal"))
            if sig is None:
                raise ConnectFailure("invalid_argument", "The signal must be SIGNAL_SIGTERM or SIGNAL_SIGKILL.")
            sb.find_process(m.get("process")).signal_group(sig)
            return {}
        return self.unary(run)

    def rpc_send_input(self):
        def run(sb, m):
            process = sb.find_process(m.get("process"))
            process.write_stdin(self._input_bytes(m.get("input")))
            return {}
        return self.unary(run)

    def rpc_close_stdin(self):
        return self.unary(lambda sb, m: sb.find_process(m.get("process")).close_stdin() or {})

    def rpc_update(self):
        return self.unary(lambda sb, m: self._unimplemented("/process.Process/Update (PTY resize)"))

    @staticmethod
    def _input_bytes(value) -> bytes:
        if not isinstance(value, dict) or "stdin" not in value:
            if isinstance(value, dict) and "pty" in value:
                raise ConnectFailure("failed_precondition", "The stand-in runs no PTY sessions.")
            raise ConnectFailure("invalid_argument", "The input must carry stdin bytes.")
        try:
            return base64.b64decode(value["stdin"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ConnectFailure("invalid_argument", "The stdin bytes are not valid base64.")

    # --- streaming RPCs ---------------------------------------------------------------------

    def _stream_headers(self) -> dict:
        return {"Content-Type": STREAM_CONTENT_TYPE}

    def _check_stream_type(self) -> None:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != STREAM_CONTENT_TYPE:
            raise HTTPFailure(415, f"Streaming calls must be {STREAM_CONTENT_TYPE}.")

    def _stream_error(self, error: ConnectFailure) -> None:
        """A stream that fails before any message: HTTP 200, only an end envelope with the error."""
        self.body().drain()
        self.stream_begin(self._stream_headers())
        self.stream_end(end_frame(error))

    def _keepalive_interval(self) -> float:
        raw = self.headers.get(KEEPALIVE_HEADER)
        try:
            return float(min(3600, max(1, int(raw)))) if raw else float(self.ctx.keepalive)
        except ValueError:
            return float(self.ctx.keepalive)

    def _pump_events(self, sb: Sandbox, process, sub) -> None:
        """Forward a process's events to this stream until its end, sending keepalives when idle."""
        with sb.lock:
            if sb.gone:
                raise HTTPFailure(502, f"The sandbox {sb.sandbox_id} was not found")
            sb.streams.add(self.connection)
        try:
            self.stream_begin(self._stream_headers())
            self.stream_frame(encode_frame({"event": {"start": {"pid": process.pid}}}))
            interval = self._keepalive_interval()
            while True:
                try:
                    event = sub.queue.get(timeout=interval)
                except queue.Empty:
                    self.stream_frame(encode_frame({"event": {"keepalive": {}}}))
                    continue
                if event is None:
                    break
                self.stream_frame(encode_frame({"event": event}))
            with sb.lock:
                cut = sb.gone  # the sandbox went meanwhile: its streams end without an end message
            if cut:
                self.close_connection = True
                return
            self.stream_end(end_frame())
        finally:
            process.unsubscribe(sub)
            with sb.lock:
                sb.streams.discard(self.connection)

    def rpc_start(self):
        """process.Process/Start: run a command; stream start, data, end (and keepalives)."""
        sb = self.sandbox()
        self._check_stream_type()
        try:
            message = read_single_message(self.body(self.ctx.max_frame_bytes + 5), self.ctx.max_frame_bytes)
            if message.get("pty"):
                raise ConnectFailure("unimplemented", "PTY sessions are not supported by the stand-in.")
            config = message.get("process")
            if not isinstance(config, dict):
                raise ConnectFailure("invalid_argument", "The request needs a process.")
            tag = message.get("tag")
            process = sb.spawn(config, tag if isinstance(tag, str) else None, bool(message.get("stdin")), sb.forget)
        except ConnectFailure as e:
            return self._stream_error(e)
        self.ctx.registry.claim_group(sb, process.pid)
        sub = process.subscribe()
        process.start()
        self._pump_events(sb, process, sub)

    def rpc_connect(self):
        """process.Process/Connect: watch a running process from now on."""
        sb = self.sandbox()
        self._check_stream_type()
        try:
            message = read_single_message(self.body(self.ctx.max_frame_bytes + 5), self.ctx.max_frame_bytes)
            process = sb.find_process(message.get("process"))
            sub = process.subscribe()
            if sub is None:
                raise ConnectFailure("not_found", f"process with pid {process.pid} not found")
        except ConnectFailure as e:
            return self._stream_error(e)
        self._pump_events(sb, process, sub)

    def rpc_stream_input(self):
        """process.Process/StreamInput: a client stream of start, data and keepalive messages."""
        sb = self.sandbox()
        self._check_stream_type()
        body = self.body(1 << 62)  # unbounded in total: each envelope is bounded, and input flows on
        error = None
        try:
            process = None
            while True:
                frame = read_frame(body, self.ctx.max_frame_bytes)
                if frame is None or frame[0] & 0x02:
                    break
                message = frame[1]
                if "start" in message:
                    process = sb.find_process((message["start"] or {}).get("process"))
                elif "data" in message:
                    if process is None:
                        raise ConnectFailure("failed_precondition", "The input stream must begin with start.")
                    process.write_stdin(self._input_bytes((message["data"] or {}).get("input")))
        except ConnectFailure as e:
            error = e
        self.body().drain()
        self.stream_begin(self._stream_headers())
        if error is None:
            self.stream_frame(encode_frame({}))
        self.stream_end(end_frame(error))

    RPCS = {
        "Start": rpc_start,
        "Connect": rpc_connect,
        "StreamInput": rpc_stream_input,
        "List": rpc_list,
        "SendSignal": rpc_send_signal,
        "SendInput": rpc_send_input,
        "CloseStdin": rpc_close_stdin,
        "Update": rpc_update,
    }
