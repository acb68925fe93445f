"""A bounded, append-only byte log read by offset: one per stdout/stderr of every process.

Modal's stdio reads carry a byte offset so that a client can reconnect after a dropped stream and
continue where it stopped. The stand-in therefore keeps what a process printed (up to a cap) and
serves any offset again. Past the cap further output is counted but dropped, so a chatty process
cannot exhaust the stand-in's memory.
"""

import asyncio
from collections.abc import AsyncIterator


class OutputBuffer:
    """Bytes a process wrote, readable from any offset until EOF."""

    def __init__(self, cap_bytes: int):
        self._cap = cap_bytes
        self._data = bytearray()
        self._eof = False
        self._dropped = 0
        self._changed = asyncio.Event()

    @property
    def size(self) -> int:
        return len(self._data)

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def eof(self) -> bool:
        return self._eof

    def append(self, chunk: bytes) -> None:
        if self._eof or not chunk:
            return
        room = self._cap - len(self._data)
        if room < len(chunk):
            self._dropped += len(chunk) - max(room, 0)
            chunk = chunk[: max(room, 0)]
        if chunk:
            self._data.extend(chunk)
        self._wake()

    def close(self) -> None:
        """Mark EOF: readers that caught up finish instead of waiting."""
        if not self._eof:
            self._eof = True
            self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def read_from(self, offset: int, chunk_size: int) -> AsyncIterator[bytes]:
        """Yield the bytes from `offset` on in chunks, waiting for more until EOF."""
        offset = max(0, offset)
        while True:
            if offset < len(self._data):
                chunk = bytes(self._data[offset : offset + chunk_size])
                offset += len(chunk)
                yield chunk
                continue
            if self._eof:
                return
            await self._changed.wait()

    async def pump(self, reader: asyncio.StreamReader, read_size: int = 65536) -> None:
        """Copy a pipe into the buffer until the pipe closes."""
        try:
            while True:
                chunk = await reader.read(read_size)
                if not chunk:
                    break
                self.append(chunk)
        finally:
            self.close()


def utf8_prefix_length(data: bytes) -> int:
    """The length of the longest prefix of `data` that does not end inside a UTF-8 character."""
    end = len(data)
    start = end
    while start > 0 and end - start < 3 and (data[start - 1] & 0xC0) == 0x80:
        start -= 1
    if start == 0:
        return end
    lead = data[start - 1]
    width = 2 if lead >> 5 == 0b110 else 3 if lead >> 4 == 0b1110 else 4 if lead >> 3 == 0b11110 else 1
    return start - 1 if width > end - start + 1 else end
