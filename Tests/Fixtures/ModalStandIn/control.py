"""The side HTTP control server: tests inject faults and read what happened.

    GET    /state    sandboxes (timeouts, deadlines, tags, execs, tunnels), apps, images, secrets
                     (keys only), call counts and outcomes per method, live fault rules
    GET    /faults   the live fault rules
    POST   /faults   add one rule (a JSON object) or several (a JSON array); 201 {"ids": [...]}
    DELETE /faults   remove every rule; 204
    GET    /healthz  200 "ok"

It runs stdlib `http.server` on its own thread; reads of the stand-in's state are handed to the
event loop so they see a consistent picture.
"""

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from faults import FaultSpecError
from world import World

MAX_BODY_BYTES = 64 * 1024


class ControlServer:
    """Serves the control endpoints on 127.0.0.1:<port> until `close`."""

    def __init__(self, world: World, loop: asyncio.AbstractEventLoop, port: int = 0):
        handler = _make_handler(world, loop)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="control", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _make_handler(world: World, loop: asyncio.AbstractEventLoop):
    async def describe() -> dict:
        return world.describe()

    class Handler(BaseHTTPRequestHandler):
        server_version = "modal-standin-control"

        def log_message(self, format, *args):  # noqa: A002 - quiet: tests read /state instead
            pass

        def _send(self, status: int, body=None) -> None:
            data = b"" if body is None else (json.dumps(body, indent=1) + "\n").encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str) -> None:
            self._send(status, {"error": message})

        def do_GET(self) -> None:
            if self.path == "/state":
                state = asyncio.run_coroutine_threadsafe(describe(), loop).result(timeout=10)
                self._send(200, state)
            elif self.path == "/faults":
                self._send(200, world.faults.describe())
            elif self.path == "/healthz":
                self.send_response(200)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")
            else:
                self._error(404, f"There is no {self.path}.")

        def do_POST(self) -> None:
            if self.path != "/faults":
                self._error(404, f"There is no {self.path}.")
                return
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                self._error(411, "A Content-Length header is required.")
                return
            if int(length) > MAX_BODY_BYTES:
                self._error(413, f"The body may have at most {MAX_BODY_BYTES} bytes.")
                return
            try:
                spec = json.loads(self.rfile.read(int(length)) or b"null")
                specs = spec if isinstance(spec, list) else [spec]
                ids = [world.faults.add(s) for s in specs]
            except json.JSONDecodeError:
                self._error(400, "The body is not valid JSON.")
                return
            except FaultSpecError as exc:
                self._error(400, str(exc))
                return
            self._send(201, {"ids": ids})

        def do_DELETE(self) -> None:
            if self.path != "/faults":
                self._error(404, f"There is no {self.path}.")
                return
            world.faults.clear()
            self._send(204)

    return Handler
