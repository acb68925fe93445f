"""A sandbox port made reachable through a loopback listener, as a Modal tunnel makes it reachable.

Sandboxes here run on this host without a network namespace, so "the sandbox's port N" is
127.0.0.1:N. Each port the sandbox was created with (`encrypted_ports`, `unencrypted_ports`) gets a
listener on 127.0.0.1:<ephemeral> that forwards every connection to it. Modal's encrypted tunnels
terminate TLS at its edge; the stand-in has no certificate, so its "encrypted" endpoint is the same
plaintext forwarder (documented in README.md).
"""

import asyncio
from collections.abc import Callable

LOOPBACK = "127.0.0.1"


class Tunnel:
    """A loopback listener forwarding to the sandbox's `container_port`."""

    def __init__(self, container_port: int, unencrypted: bool, on_activity: Callable[[], None]):
        self.container_port = container_port
        self.unencrypted = unencrypted
        self.port = 0
        self.connections = 0
        self._on_activity = on_activity
        self._server: asyncio.base_events.Server | None = None
        self._pipes: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, host=LOOPBACK, port=0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._on_activity()
        try:
            up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self.container_port)
        except OSError:
            writer.close()
            return
        pipes = [
            asyncio.create_task(self._copy(reader, up_writer)),
            asyncio.create_task(self._copy(up_reader, writer)),
        ]
        self._pipes.update(pipes)
        try:
            await asyncio.gather(*pipes, return_exceptions=True)
        finally:
            self._pipes.difference_update(pipes)

    async def _copy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                self._on_activity()
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                writer.close()
            except (ConnectionError, OSError):
                pass

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._pipes):
            task.cancel()

    def describe(self) -> dict:
        return {
            "container_port": self.container_port,
            "host": LOOPBACK,
            "port": self.port,
            "unencrypted": self.unencrypted,
            "connections": self.connections,
        }
