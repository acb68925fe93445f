#!/usr/bin/env python3
"""A Modal stand-in: Modal's gRPC API and task command router on loopback, with real sandboxes.

    python3 standin.py --port-file F --token-id ID --token-secret S

binds three loopback ports (the API, the task command router, the HTTP control server), writes them
as JSON to F once it accepts calls (the ready handshake; F may be a FIFO the caller is reading),
serves until SIGTERM or SIGINT, then kills every sandbox process it started. Point Modal's official
client at it with MODAL_SERVER_URL=http://127.0.0.1:<api>. See README.md.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import stat
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from grpclib.server import Server  # noqa: E402

from api_service import ApiService  # noqa: E402
from control import ControlServer  # noqa: E402
from interceptor import GuardedService, RpcStatusCodec  # noqa: E402
from router_service import RouterService  # noqa: E402
from world import Config, World, remove_tree  # noqa: E402

LOOPBACK = "127.0.0.1"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A Modal API stand-in on loopback.")
    parser.add_argument("--port-file", required=True, help="where to write the bound ports as JSON (file or FIFO)")
    parser.add_argument("--token-id", required=True, help="the x-modal-token-id clients must send")
    parser.add_argument("--token-secret", required=True, help="the x-modal-token-secret clients must send")
    parser.add_argument("--api-port", type=int, default=0)
    parser.add_argument("--router-port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--data-dir", help="sandbox directories and snapshots (default: a temporary directory)")
    parser.add_argument("--auth-token-ttl", type=int, default=3600, help="seconds an AuthTokenGet JWT lives")
    parser.add_argument("--router-token-ttl", type=int, default=3600, help="seconds a command router JWT lives")
    parser.add_argument("--list-page-size", type=int, default=10, help="sandboxes per SandboxList page")
    parser.add_argument("--output-cap-bytes", type=int, default=16 * 1024 * 1024, help="kept per stdout/stderr")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    for name in ("auth_token_ttl", "router_token_ttl", "list_page_size", "output_cap_bytes"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    return args


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    sock.listen(128)
    return sock


def write_port_file(path: str, ports: dict) -> None:
    """Write the ready record: straight into a FIFO, or atomically (rename) into a regular file."""
    data = json.dumps(ports) + "\n"
    if os.path.exists(path) and stat.S_ISFIFO(os.stat(path).st_mode):
        with open(path, "w") as fifo:
            fifo.write(data)
        return
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(data)
    os.replace(tmp, path)


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    temp_dir = None
    data_dir = args.data_dir
    if data_dir is None:
        data_dir = temp_dir = tempfile.mkdtemp(prefix="modal-standin-")
    data_dir = os.path.realpath(data_dir)
    world = World(
        Config(
            token_id=args.token_id,
            token_secret=args.token_secret,
            data_dir=data_dir,
            auth_token_ttl=args.auth_token_ttl,
            router_token_ttl=args.router_token_ttl,
            list_page_size=args.list_page_size,
            output_cap=args.output_cap_bytes,
        )
    )
    codec = RpcStatusCodec()
    api = Server([GuardedService(ApiService(world), world.stats, world.faults, world.authorize_api)], status_details_codec=codec)
    router = Server(
        [GuardedService(RouterService(world), world.stats, world.faults, world.authorize_router)],
        status_details_codec=codec,
    )
    api_sock, router_sock = _listen(args.api_port), _listen(args.router_port)
    api_port, router_port = api_sock.getsockname()[1], router_sock.getsockname()[1]
    world.config.router_url = f"http://{LOOPBACK}:{router_port}"
    await api.start(sock=api_sock)
    await router.start(sock=router_sock)
    control = ControlServer(world, loop, args.control_port)
    control.start()

    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    ports = {
        "api": api_port,
        "router": router_port,
        "control": control.port,
        "api_url": f"http://{LOOPBACK}:{api_port}",
        "router_url": world.config.router_url,
        "control_url": f"http://{LOOPBACK}:{control.port}",
        "pid": os.getpid(),
        "data_dir": data_dir,
    }
    await loop.run_in_executor(None, write_port_file, args.port_file, ports)
    try:
        await stop.wait()
    finally:
        api.close()
        router.close()
        await world.shutdown()
        await api.wait_closed()
        await router.wait_closed()
        control.close()
        if temp_dir is not None:
            remove_tree(temp_dir)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="standin %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
