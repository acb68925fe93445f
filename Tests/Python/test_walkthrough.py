"""The consumer's whole walk on real LocalVM sandboxes, with requests and with curl."""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import datetime, timedelta

import pytest

from conftest import exec_view, assert_error, needs_localvm

pytestmark = needs_localvm


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_walkthrough_requests(localvm_server, http):
    base = localvm_server.url

    r = http.post(f"{base}/v1/sandboxes", json={"labels": {"suite": "walk"}})
    assert r.status_code == 201, r.text
    sbx = r.json()
    sid = sbx["id"]
    assert sbx["state"] == "ready"
    assert sbx["backend"] == "localvm" and sbx["profile"] == "default"
    assert sbx["labels"]["suite"] == "walk"

    r = http.post(f"{base}/v1/sandboxes/{sid}/exec", json={"argv": ["hostname"]})
    assert r.status_code == 200, r.text
    result = r.json()
    assert exec_view(result) == {"exit_code": 0, "stdout": f"{sid}\n", "stderr": "", "timed_out": False}
    # The exact bytes ride along in base64, and nothing was cut.
    assert result["stdout_b64"] == base64.b64encode(f"{sid}\n".encode()).decode() and result["stderr_b64"] == ""
    assert result.get("stdout_truncated") in (None, False) and result.get("stderr_truncated") in (None, False)

    # A non-zero exit is a result, not an error.
    r = http.post(f"{base}/v1/sandboxes/{sid}/exec",
                  json={"argv": ["sh", "-c", "echo out; echo err >&2; exit 7"]})
    assert r.status_code == 200, r.text
    assert exec_view(r.json()) == {"exit_code": 7, "stdout": "out\n", "stderr": "err\n", "timed_out": False}

    # stdin and env reach the command.
    r = http.post(f"{base}/v1/sandboxes/{sid}/exec",
                  json={"argv": ["sh", "-c", "cat; echo $GREETING"], "stdin": "in\n", "env": {"GREETING": "hi"}})
    assert r.status_code == 200, r.text
    assert r.json()["stdout"] == "in\nhi\n"

    before = at(http.get(f"{base}/v1/sandboxes/{sid}").json()["expires_at"])
    r = http.patch(f"{base}/v1/sandboxes/{sid}/ttl", json={"duration": "2h"})
    assert r.status_code == 200, r.text
    ext = r.json()
    assert at(ext["expires_at"]) == before + timedelta(hours=2)
    assert at(ext["extended_from"]) == before and at(ext["extended_to"]) == before + timedelta(hours=2)
    assert ext["ttl_capped"] is False

    r = http.post(f"{base}/v1/sandboxes/expire", params={"apply": "false"})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["apply"] is False and plan["items"] == []

    r = http.delete(f"{base}/v1/sandboxes/{sid}")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "destroyed" and r.json()["reason"] == "manual"

    r = http.get(f"{base}/v1/sandboxes/{sid}")
    assert r.status_code == 200
    assert r.json()["state"] == "destroyed"

    # Destroy is idempotent.
    r = http.delete(f"{base}/v1/sandboxes/{sid}")
    assert r.status_code == 200 and r.json()["state"] == "destroyed"

    # After destroy, extending or running is a conflict.
    assert_error(http.patch(f"{base}/v1/sandboxes/{sid}/ttl", json={"duration": "1h"}), 409)
    assert_error(http.post(f"{base}/v1/sandboxes/{sid}/exec", json={"argv": ["true"]}), 409)

    r = http.get(f"{base}/v1/events", params={"sandbox": sid})
    assert r.status_code == 200
    events = r.json()["events"]
    assert all(e["sandbox_id"] == sid for e in events)
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    types = [e["type"] for e in events]
    # The lifecycle in order (other event types may sit between them).
    wanted = ["created", "ready", "ttl_extended", "destroyed"]
    positions = [types.index(t) for t in wanted]
    assert positions == sorted(positions), types
    extended = events[types.index("ttl_extended")]["data"]
    assert at(extended["from"]) == before and at(extended["to"]) == before + timedelta(hours=2)
    assert events[types.index("destroyed")]["data"]["reason"] == "manual"


def curl(*args: str) -> tuple[int, dict]:
    """Runs curl; returns (status, JSON body)."""
    out = subprocess.run(["curl", "-sS", "--max-time", "30", "-w", "\n%{http_code}", *args],
                         check=True, capture_output=True, text=True).stdout
    body, _, status = out.rpartition("\n")
    return int(status), json.loads(body)


@pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v curl"], capture_output=True).returncode != 0,
                    reason="curl is not installed")
def test_walkthrough_curl(localvm_server):
    base = localvm_server.url
    status, sbx = curl("-X", "POST", "-H", "Content-Type: application/json", "-d", '{"ttl": "30m"}',
                       f"{base}/v1/sandboxes")
    assert status == 201, sbx
    sid = sbx["id"]
    assert sbx["ttl"] == "30m" and sbx["state"] == "ready"

    status, got = curl(f"{base}/v1/sandboxes/{sid}")
    assert status == 200 and got["id"] == sid and got["state"] == "ready"

    status, result = curl("-X", "POST", "-d", '{"argv": ["hostname"]}', f"{base}/v1/sandboxes/{sid}/exec")
    assert status == 200 and result["stdout"] == f"{sid}\n"

    status, gone = curl("-X", "DELETE", f"{base}/v1/sandboxes/{sid}")
    assert status == 200 and gone["state"] == "destroyed"

    status, got = curl(f"{base}/v1/sandboxes/{sid}")
    assert status == 200 and got["state"] == "destroyed"

    status, missing = curl(f"{base}/v1/sandboxes/sbx-0000000000000000")
    assert status == 404 and missing["error"]["code"] == "not_found"
