"""E2B's control-plane REST API: sandboxes, timeouts, connect, snapshots. Auth is `X-API-Key`;
every error is `{"code": int, "message": string}`."""

from __future__ import annotations

import hmac
import re
from typing import Optional

from . import control
from .handler import StandinHandler
from .httpio import HTTPFailure, Response, parse_json_object
from .listing import decode_token, one, page, parse_limit, parse_metadata_filter, parse_states, parse_time
from .sandbox import Sandbox, iso

CLIENT_ID = "6532622b"  # E2B answers this constant clientID
IDEMPOTENCY_KEY = re.compile(r"[a-z0-9-]{1,255}")
SNAPSHOT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,127}")


def _string_map(body: dict, name: str) -> dict:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise HTTPFailure(400, f"The field {name} must map strings to strings.")
    return value


def _seconds(body: dict, name: str, default: Optional[int], low: int, high: int) -> int:
    value = body.get(name, default)
    if value is None:
        raise HTTPFailure(400, f"The field {name} is required.")
    if isinstance(value, bool) or not isinstance(value, int):
        raise HTTPFailure(400, f"The field {name} must be an integer number of seconds.")
    if value < low:
        raise HTTPFailure(400, f"The field {name} must be at least {low} seconds.")
    if value > high:
        raise HTTPFailure(400, f"The field {name} cannot exceed {high} seconds (the plan's maximum sandbox lifetime).")
    return value


class ApiHandler(StandinHandler):
    """Routes of the REST API (and the stand-in's own `/_standin/*` control routes)."""

    server_kind = "api"

    ROUTES = [
        ("GET", "_standin/state", control.state),
        ("GET", "_standin/wait", control.wait),
        ("GET", "_standin/faults", control.list_faults),
        ("POST", "_standin/faults", control.add_fault),
        ("DELETE", "_standin/faults", control.clear_faults),
        ("GET", "health", lambda h: Response.json(200, {"message": "Health check successful"})),
        ("POST", "v2/sandboxes", lambda h: h.create(default_timeout=300)),
        ("POST", "sandboxes", lambda h: h.create(default_timeout=15)),
        ("GET", "v2/sandboxes", lambda h: h.list_v2()),
        ("GET", "sandboxes", lambda h: h.list_v1()),
        ("GET", "sandboxes/{sandboxID}", lambda h, i: h.detail(i)),
        ("DELETE", "sandboxes/{sandboxID}", lambda h, i: h.kill(i)),
        ("POST", "sandboxes/{sandboxID}/timeout", lambda h, i: h.set_timeout(i)),
        ("POST", "v2/sandboxes/{sandboxID}/connect", lambda h, i: h.connect(i, v2=True)),
        ("POST", "sandboxes/{sandboxID}/connect", lambda h, i: h.connect(i, v2=False)),
        ("POST", "sandboxes/{sandboxID}/snapshots", lambda h, i: h.create_snapshot(i)),
        ("GET", "snapshots", lambda h: h.list_snapshots()),
        ("DELETE", "templates/{templateID}", lambda h, t: h.delete_template(t)),
    ]

    def route(self, method: str, segments: list):
        allowed = []
        for m, pattern, fn in self.ROUTES:
            parts = pattern.split("/")
            if len(parts) != len(segments):
                continue
            args = []
            for p, s in zip(parts, segments):
                if p.startswith("{"):
                    if not s:
                        break
                    args.append(s)
                elif p != s:
                    break
            else:
                if m != method:
                    allowed.append(m)
                    continue
                name = f"{m} /{pattern}"
                if pattern.startswith("_standin") or pattern == "health":
                    return name, fn, args
                return name, self._authenticated(fn), args
        if allowed:
            raise HTTPFailure(405, f"The method {method} is not allowed here.", {"Allow": ", ".join(allowed)})
        raise HTTPFailure(404, f"There is no route for {method} {self.url_path}.")

    @staticmethod
    def _authenticated(fn):
        def run(handler, *args):
            handler.require_api_key()
            return fn(handler, *args)
        return run

    def require_api_key(self) -> None:
        """401 unless the `X-API-Key` header holds the configured key."""
        given = self.headers.get("X-API-Key", "")
        if not given or not hmac.compare_digest(given.encode(), self.ctx.api_key.encode()):
            raise HTTPFailure(401, "The API key is missing or invalid.")

    # --- representations -------------------------------------------------------------------

    def _created(self, sb: Sandbox) -> dict:
        return {
            "templateID": sb.template_id,
            "sandboxID": sb.sandbox_id,
            "clientID": CLIENT_ID,
            "envdVersion": self.ctx.registry.envd_version,
            "envdAccessToken": sb.access_token,
            "trafficAccessToken": None,
            "domain": None,
            "alias": sb.alias,
        }

    def _listed(self, sb: Sandbox) -> dict:
        return {
            "templateID": sb.template_id,
            "sandboxID": sb.sandbox_id,
            "clientID": CLIENT_ID,
            "alias": sb.alias,
            "startedAt": iso(sb.started_at),
            "endAt": iso(sb.end_at),
            "cpuCount": self.ctx.cpu_count,
            "memoryMB": self.ctx.memory_mb,
            "diskSizeMB": self.ctx.disk_size_mb,
            "state": "running",
            "envdVersion": self.ctx.registry.envd_version,
            "metadata": dict(sb.metadata),
        }

    def _live(self, sandbox_id: str) -> Sandbox:
        sb = self.ctx.registry.get(sandbox_id)
        if sb is None:
            raise HTTPFailure(404, f"The sandbox {sandbox_id} was not found.")
        return sb

    # --- sandboxes --------------------------------------------------------------------------

    def create(self, default_timeout: int) -> Response:
        """POST /v2/sandboxes (and the older /sandboxes): a new running sandbox, 201."""
        body = parse_json_object(self.body().read_all(), "create")
        key = self.headers.get("Idempotency-Key")
        if key is None:
            return Response.json(201, self._create_from(body, default_timeout))
        if not IDEMPOTENCY_KEY.fullmatch(key):
            raise HTTPFailure(400, "The Idempotency-Key must be 1-255 lowercase letters, digits or hyphens.")
        reg = self.ctx.registry
        fingerprint = reg.fingerprint(body)
        with reg.idempotency_lock(key):
            prior = reg.idempotency.get(key)
            if prior is not None:
                if prior[0] != fingerprint:
                    raise HTTPFailure(422, "The Idempotency-Key was already used with a different request body.")
                return Response.json(201, prior[1])
            created = self._create_from(body, default_timeout)
            with reg.cond:
                reg.idempotency[key] = (fingerprint, created)
        return Response.json(201, created)

    def _create_from(self, body: dict, default_timeout: int) -> dict:
        template_ref = body.get("templateID")
        if not isinstance(template_ref, str) or not template_ref:
            raise HTTPFailure(400, "The field templateID is required.")
        timeout = _seconds(body, "timeout", default_timeout, 1, self.ctx.max_timeout)
        metadata = _string_map(body, "metadata")
        env_vars = _string_map(body, "envVars")
        template = self.ctx.registry.resolve_template(template_ref)
        if template is None:
            raise HTTPFailure(404, f"The template {template_ref} was not found.")
        sb = self.ctx.registry.create(template, timeout, metadata, env_vars)
        return self._created(sb)

    def detail(self, sandbox_id: str) -> Response:
        """GET /sandboxes/{id}: SandboxDetail, 404 once gone."""
        sb = self._live(sandbox_id)
        out = self._listed(sb)
        out.update({"envdAccessToken": sb.access_token, "domain": None})
        return Response.json(200, out)

    def kill(self, sandbox_id: str) -> Response:
        """DELETE /sandboxes/{id}: 204, or 404 when it is already gone."""
        if not self.ctx.registry.kill(sandbox_id, "killed"):
            raise HTTPFailure(404, f"The sandbox {sandbox_id} was not found.")
        return Response(204)

    def set_timeout(self, sandbox_id: str) -> Response:
        """POST /sandboxes/{id}/timeout: deadline = now + timeout (overwrites; may shorten)."""
        body = parse_json_object(self.body().read_all(), "timeout")
        seconds = _seconds(body, "timeout", None, 0, self.ctx.max_timeout)
        if self.ctx.registry.set_deadline(sandbox_id, seconds, only_extend=False) is None:
            raise HTTPFailure(404, f"The sandbox {sandbox_id} was not found.")
        return Response(204)

    def connect(self, sandbox_id: str, v2: bool) -> Response:
        """POST /v2/sandboxes/{id}/connect: a running sandbox's details; the deadline only grows."""
        body = parse_json_object(self.body().read_all(), "connect")
        seconds = _seconds(body, "timeout", 300 if v2 else None, 0, self.ctx.max_timeout)
        sb = self.ctx.registry.set_deadline(sandbox_id, seconds, only_extend=True)
        if sb is None:
            raise HTTPFailure(404, f"The sandbox {sandbox_id} was not found.")
        return Response.json(200, self._created(sb))

    def list_v2(self) -> Response:
        """GET /v2/sandboxes: filtered by metadata, state, template, start; paged by cursor."""
        q = self.query
        wanted = parse_metadata_filter(one(q, "metadata"))
        states = parse_states(one(q, "state"))
        started_after = parse_time(one(q, "startedAfter"), "startedAfter")
        template = one(q, "template")
        order = one(q, "order") or "desc"
        if order not in ("asc", "desc"):
            raise HTTPFailure(400, "The order parameter must be asc or desc.")
        limit = parse_limit(q)
        token = decode_token(one(q, "nextToken"))
        matches = []
        if "running" in states:  # the stand-in never pauses, so every live sandbox is running
            for sb in self.ctx.registry.live():
                if any(sb.metadata.get(k) != v for k, v in wanted.items()):
                    continue
                if template and template not in (sb.template_id, sb.alias):
                    continue
                if started_after and sb.started_at < started_after:
                    continue
                matches.append(sb)
        chosen, nxt = page(matches, lambda sb: (sb.started_at.timestamp(), sb.sandbox_id),
                           order == "desc", limit, token)
        headers = {}
        if "running" in states:
            headers["X-Total-Running"] = str(len(matches))
        if nxt:
            headers["X-Next-Token"] = nxt
        return Response.json(200, [self._listed(sb) for sb in chosen], headers)

    def list_v1(self) -> Response:
        """GET /sandboxes: every running sandbox matching the metadata filter, unpaged."""
        wanted = parse_metadata_filter(one(self.query, "metadata"))
        out = [self._listed(sb) for sb in self.ctx.registry.live()
               if all(sb.metadata.get(k) == v for k, v in wanted.items())]
        return Response.json(200, out)

    # --- snapshots --------------------------------------------------------------------------

    def create_snapshot(self, sandbox_id: str) -> Response:
        """POST /sandboxes/{id}/snapshots: copy its files into a template, 201 SnapshotInfo."""
        body = parse_json_object(self.body().read_all(), "snapshot")
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or not SNAPSHOT_NAME.fullmatch(name)):
            raise HTTPFailure(400, "The snapshot name must be lowercase letters, digits, - or _, at most 128.")
        self._live(sandbox_id)
        snap = self.ctx.registry.snapshot(sandbox_id, name)
        if snap is None:
            raise HTTPFailure(404, f"The sandbox {sandbox_id} was not found.")
        return Response.json(201, snap.info())

    def list_snapshots(self) -> Response:
        """GET /snapshots: filtered by source sandbox and name, paged by cursor."""
        reg = self.ctx.registry
        sandbox_id = one(self.query, "sandboxID")
        name = one(self.query, "name")
        limit = parse_limit(self.query)
        token = decode_token(one(self.query, "nextToken"))
        wanted = reg.find_snapshot(name) if name else None
        with reg.cond:
            snaps = list(reg.snapshots.values())
        snaps = [s for s in snaps if (not sandbox_id or s.sandbox_id == sandbox_id)
                 and (not name or s is wanted)]
        chosen, nxt = page(snaps, lambda s: (s.created_at.timestamp(), s.raw_id), True, limit, token)
        return Response.json(200, [s.info() for s in chosen], {"X-Next-Token": nxt} if nxt else {})

    def delete_template(self, template_id: str) -> Response:
        """DELETE /templates/{id}: delete a snapshot template, 204; 404 when unknown."""
        if not self.ctx.registry.delete_snapshot(template_id):
            raise HTTPFailure(404, f"The template {template_id} was not found.")
        return Response(204)
