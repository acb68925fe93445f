"""Connect RPC wire format (the JSON codec envd speaks to the SDK).

Streams (`application/connect+json`) are a sequence of envelopes: 1 flags byte (0x00 data,
0x02 end-of-stream), a 4-byte big-endian length, then the payload. A server stream always
answers HTTP 200 and ends with an end-of-stream envelope holding `{}` or `{"error": ...}`.
Unary calls (`application/json`) carry plain JSON; an error is a non-200 status whose JSON
body has a string `code`.
"""

from __future__ import annotations

import json
import struct

from .httpio import BodyReader, HTTPFailure

FLAG_DATA = 0x00
FLAG_COMPRESSED = 0x01
FLAG_END_STREAM = 0x02

STREAM_CONTENT_TYPE = "application/connect+json"
UNARY_CONTENT_TYPE = "application/json"

# Connect error code -> HTTP status for unary answers (the Connect protocol's table).
CODE_TO_STATUS = {
    "canceled": 499,
    "unknown": 500,
    "invalid_argument": 400,
    "deadline_exceeded": 504,
    "not_found": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "resource_exhausted": 429,
    "failed_precondition": 400,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "data_loss": 500,
    "unauthenticated": 401,
}


class ConnectFailure(Exception):
    """An RPC error with a Connect code (a key of CODE_TO_STATUS) and a message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        assert code in CODE_TO_STATUS, code
        self.code = code
        self.message = message

    def wire(self) -> dict:
        """The error object as Connect puts it on the wire."""
        return {"code": self.code, "message": self.message}


def encode_frame(payload: dict, flags: int = FLAG_DATA) -> bytes:
    """One envelope holding `payload` as compact JSON."""
    data = json.dumps(payload, separators=(",", ":")).encode()
    return struct.pack(">BI", flags, len(data)) + data


def end_frame(error: ConnectFailure | None = None) -> bytes:
    """The end-of-stream envelope: `{}` on success, `{"error": ...}` otherwise."""
    return encode_frame({"error": error.wire()} if error else {}, FLAG_END_STREAM)


def read_frame(body: BodyReader, max_payload: int):
    """The next request envelope as (flags, parsed JSON object), or None at the body's end."""
    header = body.read_exact(5)
    if not header:
        return None
    if len(header) < 5:
        raise HTTPFailure(400, "The request stream ended inside an envelope header.")
    flags, length = struct.unpack(">BI", header)
    if flags & FLAG_COMPRESSED:
        raise ConnectFailure("unimplemented", "Compressed request envelopes are not supported.")
    if length > max_payload:
        raise ConnectFailure("resource_exhausted", f"A request message is larger than {max_payload} bytes.")
    payload = body.read_exact(length)
    if len(payload) < length:
        raise HTTPFailure(400, "The request stream ended inside an envelope.")
    try:
        message = json.loads(payload) if payload else {}
    except (ValueError, UnicodeDecodeError):
        raise ConnectFailure("invalid_argument", "A request message is not valid JSON.")
    if not isinstance(message, dict):
        raise ConnectFailure("invalid_argument", "A request message must be a JSON object.")
    return flags, message


def read_single_message(body: BodyReader, max_payload: int) -> dict:
    """The one data envelope of a server-stream request (the whole body)."""
    first = read_frame(body, max_payload)
    if first is None:
        raise ConnectFailure("invalid_argument", "The request stream holds no message.")
    flags, message = first
    if flags & FLAG_END_STREAM:
        raise ConnectFailure("invalid_argument", "The request stream holds no message.")
    if read_frame(body, max_payload) is not None:
        raise ConnectFailure("invalid_argument", "A server-stream request must hold exactly one message.")
    return message
