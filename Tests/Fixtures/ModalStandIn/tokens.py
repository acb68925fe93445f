"""Object ids and the JWTs the stand-in hands out (auth tokens, command router tokens).

Modal's client never verifies a JWT; it only reads `exp` from the payload to schedule refreshes. The
stand-in signs its tokens (HS256, a key made at start-up) so that it can refuse tokens it did not
issue, expired ones, and router tokens presented for another task.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def random_base62(length: int) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(length))


def new_id(prefix: str, length: int = 22) -> str:
    """An object id in Modal's shape: `<prefix>-` and `length` base62 characters."""
    return f"{prefix}-{random_base62(length)}"


def new_v1_sandbox_id() -> str:
    # The client treats exactly `sb-` + 22 base62 characters as a V1 sandbox id.
    return new_id("sb", 22)


def new_v2_sandbox_id() -> str:
    # Anything else with the `sb-` prefix routes to the V2 calls; the real V2 shape is not
    # documented, so the stand-in picks a longer suffix that cannot be mistaken for V1.
    return new_id("sb", 26)


def new_task_id(v2: bool) -> str:
    # The client recognises a V2 sandbox's task by a trailing "V".
    body = random_base62(21)
    if v2:
        return f"ta-{body}V"
    last = secrets.choice(_BASE62.replace("V", ""))
    return f"ta-{body}{last}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Mints and checks HS256 JWTs with a per-process key; `now` is wall-clock seconds (JWT `exp`)."""

    _HEADER = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())

    def __init__(self, clock=time.time):
        self._key = secrets.token_bytes(32)
        self._clock = clock

    def mint(self, kind: str, subject: str, ttl_secs: float) -> str:
        now = self._clock()
        claims = {"kind": kind, "sub": subject, "iat": int(now), "exp": int(now + ttl_secs)}
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{self._HEADER}.{payload}".encode("ascii")
        signature = _b64url(hmac.new(self._key, signing_input, hashlib.sha256).digest())
        return f"{self._HEADER}.{payload}.{signature}"

    def verify(self, token: str, kind: str) -> dict | None:
        """The claims of a token this issuer minted for `kind` and that has not expired, else None."""
        if not token or len(token) > 4096:
            return None
        parts = token.split(".")
        if len(parts) != 3:
            return None
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", "replace")
        expected = _b64url(hmac.new(self._key, signing_input, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, parts[2]):
            return None
        try:
            claims = json.loads(_b64url_decode(parts[1]))
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(claims, dict) or claims.get("kind") != kind:
            return None
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp <= self._clock():
            return None
        return claims
