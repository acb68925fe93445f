"""The stand-in's own control routes under `/_standin/` (not part of E2B's API; no API key):
inspect state, wait for a sandbox to go, arm and clear faults."""

from __future__ import annotations

from .httpio import HTTPFailure, Response, parse_json_object
from .listing import one
from .sandbox import iso

MAX_WAIT_MS = 120_000


def _sandbox_state(handler, sb) -> dict:
    reg = handler.ctx.registry
    with sb.lock:
        processes = [
            {"pid": p.pid, "tag": p.tag, "cmd": p.config.get("cmd"), "args": p.config.get("args", []),
             "ended": p.ended}
            for p in sb.processes.values()
        ]
    return {
        "sandboxID": sb.sandbox_id,
        "templateID": sb.template_id,
        "alias": sb.alias,
        "state": "running",
        "startedAt": iso(sb.started_at),
        "endAt": iso(sb.end_at),
        "timeout": sb.timeout,
        "secondsLeft": round(sb.deadline - reg.clock(), 3),
        "metadata": dict(sb.metadata),
        "envVarNames": sorted(sb.env_vars),  # values may be secrets: names only
        "home": sb.home,
        "processes": processes,
    }


def state(handler) -> Response:
    """GET /_standin/state: sandboxes with deadlines, gone ones, snapshots, call counts, last
    headers per route (secrets redacted), armed faults."""
    reg = handler.ctx.registry
    live = reg.live()
    with reg.cond:
        gone = list(reg.gone.values())
        snapshots = [
            {**s.info(), "sandboxID": s.sandbox_id, "directory": s.directory}
            for s in reg.snapshots.values()
        ]
        keys = {k: v[1]["sandboxID"] for k, v in reg.idempotency.items()}
        calls = dict(reg.calls)
        headers = {k: dict(v) for k, v in reg.last_headers.items()}
    return Response.json(200, {
        "sandboxes": [_sandbox_state(handler, sb) for sb in live],
        "gone": gone,
        "snapshots": snapshots,
        "idempotencyKeys": keys,
        "calls": calls,
        "lastHeaders": headers,
        "faults": handler.ctx.faults.list(),
    })


def wait(handler) -> Response:
    """GET /_standin/wait?sandboxID=X&timeoutMs=N: block until the sandbox is gone (a
    long-poll, so tests need no sleeps); 200 with how it went, 408 if it did not in time."""
    sandbox_id = one(handler.query, "sandboxID")
    if not sandbox_id:
        raise HTTPFailure(400, "The sandboxID parameter is required.")
    raw = one(handler.query, "timeoutMs") or "10000"
    try:
        timeout_ms = int(raw)
    except ValueError:
        raise HTTPFailure(400, "The timeoutMs parameter must be an integer.")
    if not 0 <= timeout_ms <= MAX_WAIT_MS:
        raise HTTPFailure(400, f"The timeoutMs parameter must be from 0 to {MAX_WAIT_MS}.")
    record = handler.ctx.registry.wait_gone(sandbox_id, timeout_ms / 1000.0)
    if record is None:
        raise HTTPFailure(408, f"The sandbox {sandbox_id} was still there after {timeout_ms} ms.")
    return Response.json(200, record)


def add_fault(handler) -> Response:
    """POST /_standin/faults: arm a fault (see README for its fields); 201 with its id."""
    spec = parse_json_object(handler.body().read_all(), "fault")
    fault = handler.ctx.faults.add(spec)
    return Response.json(201, fault.describe())


def list_faults(handler) -> Response:
    """GET /_standin/faults: the armed faults."""
    return Response.json(200, handler.ctx.faults.list())


def clear_faults(handler) -> Response:
    """DELETE /_standin/faults: disarm them all."""
    return Response.json(200, {"cleared": handler.ctx.faults.clear()})
