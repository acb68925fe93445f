"""HTTP/1.1 plumbing shared by the API and envd servers: bounded request bodies (Content-Length
or chunked, which the SDK's HTTP client sends for streaming bodies), answers, redaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

# Header names whose values are secrets: never logged, never shown by /_standin/state.
SECRET_HEADERS = frozenset(
    {"x-api-key", "x-access-token", "authorization", "e2b-traffic-access-token", "cookie"}
)

MAX_CHUNK_LINE = 1024  # a chunk-size line (size plus extensions) longer than this is refused


class HTTPFailure(Exception):
    """An answer that ends a request early: status, an E2B-shaped JSON body, extra headers."""

    def __init__(self, status: int, message: str, headers: Optional[dict] = None, body: Optional[dict] = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.body = body if body is not None else {"code": status, "message": message}


@dataclass
class Response:
    """A complete (non-streaming) answer."""

    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)

    @staticmethod
    def json(status: int, value, headers: Optional[dict] = None) -> "Response":
        """A JSON answer with the given status."""
        merged = {"Content-Type": "application/json"}
        merged.update(headers or {})
        return Response(status, json.dumps(value).encode(), merged)

    @staticmethod
    def error(status: int, message: str, headers: Optional[dict] = None) -> "Response":
        """E2B's error shape: `{"code": status, "message": message}`."""
        return Response.json(status, {"code": status, "message": message}, headers)


class BodyReader:
    """Reads one request body incrementally, from Content-Length or chunked framing.

    Every read is bounded by `limit` (the whole body), so a client can never make the server
    hold more than that; exceeding it is a 413.
    """

    def __init__(self, rfile, headers, limit: int):
        self._rfile = rfile
        self._limit = limit
        self._consumed = 0
        te = (headers.get("Transfer-Encoding") or "").lower()
        self._chunked = "chunked" in te
        self._left_in_chunk = 0
        self._done = False
        if self._chunked:
            self._remaining = None
        else:
            raw = headers.get("Content-Length")
            try:
                self._remaining = int(raw) if raw is not None else 0
            except ValueError:
                raise HTTPFailure(400, "The Content-Length header is not a number.")
            if self._remaining < 0:
                raise HTTPFailure(400, "The Content-Length header is negative.")
            if self._remaining > limit:
                raise HTTPFailure(413, f"The request body is larger than {limit} bytes.")
            self._done = self._remaining == 0

    @property
    def finished(self) -> bool:
        """True once the whole body (and, for chunked, its trailer) has been read."""
        return self._done

    def _count(self, n: int) -> None:
        self._consumed += n
        if self._consumed > self._limit:
            raise HTTPFailure(413, f"The request body is larger than {self._limit} bytes.")

    def _read_chunk_header(self) -> None:
        line = self._rfile.readline(MAX_CHUNK_LINE + 1)
        if not line.endswith(b"\n") or len(line) > MAX_CHUNK_LINE:
            raise HTTPFailure(400, "A chunk-size line of the request body is malformed or too long.")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HTTPFailure(400, "A chunk size of the request body is not hexadecimal.")
        if size < 0:
            raise HTTPFailure(400, "A chunk size of the request body is negative.")
        if size == 0:
            # Trailer section: header lines until an empty line.
            for _ in range(64):
                trailer = self._rfile.readline(MAX_CHUNK_LINE + 1)
                if trailer in (b"\r\n", b"\n", b""):
                    break
            else:
                raise HTTPFailure(400, "The request body's trailer section is too long.")
            self._done = True
        self._left_in_chunk = size

    def read_some(self, max_bytes: int = 65536) -> bytes:
        """Up to `max_bytes` of the body; b"" at its end."""
        if self._done:
            return b""
        if not self._chunked:
            n = min(max_bytes, self._remaining)
            data = self._rfile.read(n)
            if len(data) < n:
                raise HTTPFailure(400, "The request body ended before its Content-Length.")
            self._remaining -= len(data)
            self._count(len(data))
            self._done = self._remaining == 0
            return data
        if self._left_in_chunk == 0:
            self._read_chunk_header()
            if self._done:
                return b""
        n = min(max_bytes, self._left_in_chunk)
        data = self._rfile.read(n)
        if len(data) < n:
            raise HTTPFailure(400, "The request body ended inside a chunk.")
        self._left_in_chunk -= len(data)
        self._count(len(data))
        if self._left_in_chunk == 0:
            crlf = self._rfile.readline(4)
            if crlf not in (b"\r\n", b"\n"):
                raise HTTPFailure(400, "A chunk of the request body is not followed by CRLF.")
        return data

    def read_exact(self, n: int) -> bytes:
        """Exactly `n` bytes, or fewer only if the body ends first."""
        parts = []
        want = n
        while want > 0:
            data = self.read_some(want)
            if not data:
                break
            parts.append(data)
            want -= len(data)
        return b"".join(parts)

    def read_all(self) -> bytes:
        """The rest of the body (bounded by the limit)."""
        parts = []
        while True:
            data = self.read_some()
            if not data:
                return b"".join(parts)
            parts.append(data)

    def drain(self) -> None:
        """Consume and discard the rest, so the connection can carry the next request."""
        while self.read_some():
            pass


def parse_json_object(raw: bytes, what: str) -> dict:
    """The body as a JSON object; an empty body is `{}`; anything else is a 400."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise HTTPFailure(400, f"The {what} body is not valid JSON.")
    if not isinstance(value, dict):
        raise HTTPFailure(400, f"The {what} body must be a JSON object.")
    return value


def redacted_headers(headers) -> dict:
    """The request's headers with secret values replaced, for state reports."""
    out = {}
    for name, value in headers.items():
        out[name] = "<redacted>" if name.lower() in SECRET_HEADERS else value
    return out
