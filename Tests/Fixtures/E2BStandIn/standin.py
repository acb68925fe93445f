#!/usr/bin/env python3
"""E2B stand-in: a local server following E2B's API and envd contract, for tests.

    python3 standin.py --api-port 0 --envd-port 0 --port-file F --api-key K

Binds 127.0.0.1 only. Writes `{"api": P1, "envd": P2, "pid": N}` to F once both ports listen
(F may be a FIFO: the write then doubles as a ready handshake). Serves until SIGTERM or SIGINT,
then kills every sandbox process it started and removes its data directory (unless given).
See README.md for what it serves.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
from dataclasses import dataclass
from http.server import ThreadingHTTPServer

from standin_server.api import ApiHandler
from standin_server.envd import EnvdHandler
from standin_server.faults import FaultBook
from standin_server.reaper import Reaper
from standin_server.registry import Registry

HOST = "127.0.0.1"


@dataclass
class Context:
    """What every request handler shares."""

    registry: Registry
    faults: FaultBook
    api_key: str
    max_timeout: int
    max_json_bytes: int
    max_frame_bytes: int
    max_file_bytes: int
    keepalive: int
    cpu_count: int
    memory_mb: int
    disk_size_mb: int
    verbose: bool


class Server(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server carrying the shared context."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, handler, ctx: Context):
        super().__init__((HOST, port), handler)
        self.ctx = ctx


def parse_args(argv):
    p = argparse.ArgumentParser(description="E2B stand-in server (API and envd) for tests.")
    p.add_argument("--api-port", type=int, default=0, help="API port (0: any free port)")
    p.add_argument("--envd-port", type=int, default=0, help="envd port (0: any free port)")
    p.add_argument("--port-file", required=True, help="where to write the chosen ports (file or FIFO)")
    p.add_argument("--api-key", default=os.environ.get("STANDIN_API_KEY"),
                   help="the X-API-Key clients must send (or env STANDIN_API_KEY)")
    p.add_argument("--data-dir", help="where sandbox and snapshot directories live (default: a temp dir)")
    p.add_argument("--templates", default="base",
                   help="comma-separated template names that exist ('*' accepts any); default base")
    p.add_argument("--envd-version", default="0.5.7", help="envdVersion reported to clients")
    p.add_argument("--namespace", default="standin", help="team namespace of named snapshots")
    p.add_argument("--max-timeout", type=int, default=86400, help="longest sandbox lifetime, seconds")
    p.add_argument("--max-file-bytes", type=int, default=64 << 20, help="largest file upload/download")
    p.add_argument("--keepalive", type=int, default=50, help="default keepalive interval of streams, s")
    p.add_argument("--verbose", action="store_true", help="log one line per request to stderr")
    args = p.parse_args(argv)
    if not args.api_key:
        p.error("--api-key (or STANDIN_API_KEY) is required")
    return args


def write_port_file(path: str, content: str) -> None:
    """Publish the ports: straight into a FIFO (the reader is waiting), else atomically."""
    try:
        is_fifo = stat.S_ISFIFO(os.stat(path).st_mode)
    except FileNotFoundError:
        is_fifo = False
    if is_fifo:
        with open(path, "w") as f:
            f.write(content)
        return
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(content)
    os.replace(tmp, path)


def main(argv=None) -> int:
    args = parse_args(argv)
    own_dir = args.data_dir is None
    data_dir = tempfile.mkdtemp(prefix="e2b-standin-") if own_dir else os.path.abspath(args.data_dir)
    templates = {t.strip() for t in args.templates.split(",") if t.strip()}
    registry = Registry(data_dir, templates, args.namespace, args.envd_version)
    ctx = Context(
        registry=registry, faults=FaultBook(), api_key=args.api_key, max_timeout=args.max_timeout,
        max_json_bytes=1 << 20, max_frame_bytes=4 << 20, max_file_bytes=args.max_file_bytes,
        keepalive=args.keepalive, cpu_count=2, memory_mb=512, disk_size_mb=10240, verbose=args.verbose,
    )
    api = Server(args.api_port, ApiHandler, ctx)
    envd = Server(args.envd_port, EnvdHandler, ctx)
    reaper = Reaper(registry)
    reaper.start()
    threads = [threading.Thread(target=s.serve_forever, name=n, daemon=True) for s, n in ((api, "api"), (envd, "envd"))]
    for t in threads:
        t.start()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    write_port_file(args.port_file, json.dumps(
        {"api": api.server_address[1], "envd": envd.server_address[1], "pid": os.getpid()}))
    print(f"standin: API on http://{HOST}:{api.server_address[1]}, envd on http://{HOST}:{envd.server_address[1]}",
          file=sys.stderr, flush=True)
    stop.wait()

    print("standin: stopping; killing every sandbox", file=sys.stderr, flush=True)
    reaper.stop()
    for s in (api, envd):
        s.shutdown()
        s.server_close()
    for sb in registry.live():
        registry.kill(sb.sandbox_id, "shutdown")
    if own_dir:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
