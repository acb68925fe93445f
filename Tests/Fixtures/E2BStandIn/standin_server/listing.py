"""Query parsing and cursor paging for the list endpoints (`GET /v2/sandboxes`, `GET /snapshots`)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Callable, Optional
from urllib.parse import parse_qsl, unquote

from .httpio import HTTPFailure

MAX_LIMIT = 100  # E2B's paginationLimit maximum (and default)
STATES = ("running", "paused")


def one(query: dict, name: str) -> Optional[str]:
    """A single-valued query parameter; repeating it is a 400."""
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise HTTPFailure(400, f"The query parameter {name} may appear only once.")
    return values[0]


def parse_limit(query: dict) -> int:
    """`limit`: an integer from 1 to 100, default 100."""
    raw = one(query, "limit")
    if raw is None:
        return MAX_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise HTTPFailure(400, "The limit parameter must be an integer.")
    if not 1 <= limit <= MAX_LIMIT:
        raise HTTPFailure(400, f"The limit parameter must be from 1 to {MAX_LIMIT}.")
    return limit


def parse_metadata_filter(raw: Optional[str]) -> dict:
    """`metadata=` as the SDK builds it: each key and value percent-quoted, the pairs then
    form-encoded (`urlencode`), and that string sent as one query value. The query parser undid
    the outer layer; this undoes the form encoding, then each pair's own quoting."""
    if not raw:
        return {}
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise HTTPFailure(400, "The metadata parameter must hold key=value pairs joined by &.")
    return {unquote(key): unquote(value) for key, value in pairs}


def parse_states(raw: Optional[str]) -> tuple:
    """`state=running,paused` (comma-separated); both states when absent."""
    if not raw:
        return STATES
    states = tuple(s for s in raw.split(",") if s)
    for s in states:
        if s not in STATES:
            raise HTTPFailure(400, f"The state {s} is unknown; states are running and paused.")
    return states


def parse_time(raw: Optional[str], name: str) -> Optional[datetime]:
    """An RFC 3339 timestamp parameter."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPFailure(400, f"The {name} parameter must be an RFC 3339 timestamp.")
    if value.tzinfo is None:
        raise HTTPFailure(400, f"The {name} parameter must carry a time zone.")
    return value


def encode_token(key: list) -> str:
    """An opaque cursor for the item after which the next page starts."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_token(raw: Optional[str]) -> Optional[list]:
    """The cursor's sort key; a cursor we did not make is a 400."""
    if not raw:
        return None
    try:
        padded = raw + "=" * (-len(raw) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise HTTPFailure(400, "The nextToken parameter is not a cursor this server issued.")
    if not isinstance(key, list) or len(key) != 2:
        raise HTTPFailure(400, "The nextToken parameter is not a cursor this server issued.")
    return key


def page(items: list, sort_key: Callable, descending: bool, limit: int, token: Optional[list]):
    """Sort, skip past the cursor, cut a page: (page items, next cursor or None)."""
    ordered = sorted(items, key=sort_key, reverse=descending)
    if token is not None:
        cursor = tuple(token)
        if descending:
            ordered = [i for i in ordered if tuple(sort_key(i)) < cursor]
        else:
            ordered = [i for i in ordered if tuple(sort_key(i)) > cursor]
    chosen = ordered[:limit]
    nxt = encode_token(list(sort_key(chosen[-1]))) if len(ordered) > limit else None
    return chosen, nxt
