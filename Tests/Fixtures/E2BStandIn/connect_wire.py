"""Test helpers for the Connect wire format and raw HTTP, independent of the stand-in's code."""

from __future__ import annotations

import json
import socket
import struct


def frame(payload: dict, flags: int = 0) -> bytes:
    """One Connect envelope."""
    data = json.dumps(payload, separators=(",", ":")).encode()
    return struct.pack(">BI", flags, len(data)) + data


def frames(body: bytes) -> list[tuple[int, dict]]:
    """Every envelope of a Connect stream body as (flags, message); asserts whole envelopes."""
    out, i = [], 0
    while i < len(body):
        assert len(body) - i >= 5, "the stream ends inside an envelope header"
        flags, length = struct.unpack(">BI", body[i:i + 5])
        payload = body[i + 5:i + 5 + length]
        assert len(payload) == length, "the stream ends inside an envelope"
        out.append((flags, json.loads(payload)))
        i += 5 + length
    return out


def envd_headers(sandbox: dict, stream: bool = True) -> dict:
    """Headers of an envd request for a sandbox created through the API."""
    return {
        "E2b-Sandbox-Id": sandbox["sandboxID"],
        "E2b-Sandbox-Port": "49983",
        "X-Access-Token": sandbox["envdAccessToken"],
        "Content-Type": "application/connect+json" if stream else "application/json",
        "Connect-Protocol-Version": "1",
    }


def start_request(cmd: str, stdin: bool = False) -> bytes:
    """The body the SDK sends for `commands.run(cmd)`."""
    return frame({"process": {"cmd": "/bin/bash", "args": ["-l", "-c", cmd]}, "stdin": stdin})


def raw_exchange(port: int, request: bytes, timeout: float = 30) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        parts = []
        while True:
            data = s.recv(65536)
            if not data:
                return b"".join(parts)
            parts.append(data)


def split_response(raw: bytes) -> tuple[int, dict, bytes]:
    """(status, lower-cased headers, body bytes as received) of a raw HTTP/1.1 answer."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body
