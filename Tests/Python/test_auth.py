"""Bearer tokens and roles: consumers see only their own sandboxes; operator-only routes; Idempotency-Key."""

from __future__ import annotations

import subprocess

import pytest

from conftest import SANDBOXER, assert_error, bearer, fake_config, server_env


def test_no_or_wrong_token_401(auth_server, http):
    base = auth_server.url
    for headers in [{}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic b3BzOm9w"},
                    {"Authorization": "Bearer"}, {"Authorization": "Bearer "},
                    {"Authorization": "bearer " + "x" * 4000},
                    # The right token's hash is not the token.
                    {"Authorization": "Bearer " + "0" * 64}]:
        for method, path in [("GET", "/v1/sandboxes"), ("POST", "/v1/sandboxes"), ("GET", "/v1/events"),
                             ("GET", "/v1/backends"), ("GET", "/metrics"), ("POST", "/v1/sandboxes/expire")]:
            r = http.request(method, f"{base}{path}", headers=headers)
            err = assert_error(r, 401)
            assert err["code"] == "unauthorized"
            assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
    # Public routes need no token.
    assert http.get(f"{base}/healthz").status_code == 200
    assert http.get(f"{base}/openapi.json").status_code == 200
    # Nothing was created by the refused POSTs.
    r = http.get(f"{base}/v1/sandboxes", headers=bearer("ops"))
    assert r.status_code == 200 and r.json()["sandboxes"] == []


def test_bearer_scheme_is_case_insensitive(auth_server, http):
    token = bearer("alice")["Authorization"].split(" ", 1)[1]
    r = http.get(f"{auth_server.url}/v1/sandboxes", headers={"Authorization": f"BEARER {token}"})
    assert r.status_code == 200, r.text


def test_consumers_are_isolated(auth_server, http):
    base = auth_server.url
    r = http.post(f"{base}/v1/sandboxes", json={"labels": {"job": "a"}}, headers=bearer("alice"))
    assert r.status_code == 201, r.text
    mine = r.json()
    sid = mine["id"]

    # Alice sees and uses it.
    assert http.get(f"{base}/v1/sandboxes/{sid}", headers=bearer("alice")).status_code == 200
    r = http.post(f"{base}/v1/sandboxes/{sid}/exec", json={"argv": ["exit", "0"]}, headers=bearer("alice"))
    assert r.status_code == 200, r.text
    assert [s["id"] for s in http.get(f"{base}/v1/sandboxes", headers=bearer("alice")).json()["sandboxes"]] == [sid]

    # Bob gets 404 for everything about it, exactly as for an id that does not exist.
    for method, path, body in [("GET", "", None), ("DELETE", "", None),
                               ("POST", "/exec", {"argv": ["exit", "0"]}),
                               ("PATCH", "/ttl", {"duration": "1h"})]:
        theirs = http.request(method, f"{base}/v1/sandboxes/{sid}{path}", json=body, headers=bearer("bob"))
        err = assert_error(theirs, 404)
        assert err["code"] == "not_found"
        ghost = http.request(method, f"{base}/v1/sandboxes/sbx-0123456789abcdef{path}", json=body,
                             headers=bearer("bob"))
        assert_error(ghost, 404)
    assert http.get(f"{base}/v1/sandboxes", headers=bearer("bob")).json()["sandboxes"] == []
    assert_error(http.get(f"{base}/v1/events", params={"sandbox": sid}, headers=bearer("bob")), 404)
    bob_events = http.get(f"{base}/v1/events", headers=bearer("bob")).json()["events"]
    assert all(e["sandbox_id"] != sid for e in bob_events)
    # A label filter naming the owner does not get around the scoping.
    r = http.get(f"{base}/v1/sandboxes", params={"label": "sandboxer.owner=alice"}, headers=bearer("bob"))
    assert r.status_code == 200 and r.json()["sandboxes"] == []

    # Bob's attempts changed nothing.
    still = http.get(f"{base}/v1/sandboxes/{sid}", headers=bearer("alice")).json()
    assert still["state"] == "ready" and still["expires_at"] == mine["expires_at"]

    # The operator sees it and can destroy it.
    listed = http.get(f"{base}/v1/sandboxes", headers=bearer("ops")).json()["sandboxes"]
    assert [s["id"] for s in listed] == [sid]
    assert http.get(f"{base}/v1/sandboxes/{sid}", headers=bearer("ops")).status_code == 200
    r = http.delete(f"{base}/v1/sandboxes/{sid}", headers=bearer("ops"))
    assert r.status_code == 200 and r.json()["state"] == "destroyed"
    assert http.get(f"{base}/v1/sandboxes/{sid}", headers=bearer("alice")).json()["state"] == "destroyed"


def test_owner_label_cannot_be_forged(auth_server, http):
    base = auth_server.url
    r = http.post(f"{base}/v1/sandboxes", json={"labels": {"sandboxer.owner": "alice"}}, headers=bearer("bob"))
    if r.status_code == 201:
        sid = r.json()["id"]
        assert r.json()["labels"].get("sandboxer.owner") == "bob", r.json()
        assert http.get(f"{base}/v1/sandboxes/{sid}", headers=bearer("alice")).status_code == 404
        assert http.get(f"{base}/v1/sandboxes/{sid}", headers=bearer("bob")).status_code == 200
    else:
        assert_error(r, 422)
    assert http.get(f"{base}/v1/sandboxes", headers=bearer("alice")).json()["sandboxes"] == []


@pytest.mark.parametrize("method,path", [("POST", "/v1/sandboxes/expire"), ("POST", "/v1/sandboxes/expire?apply=true"),
                                         ("POST", "/v1/reap-stale"), ("POST", "/v1/reap-stale?apply=true"),
                                         ("GET", "/metrics")])
def test_operator_only_routes(auth_server, http, method, path):
    for consumer in ("alice", "bob"):
        err = assert_error(http.request(method, f"{auth_server.url}{path}", headers=bearer(consumer)), 403)
        assert err["code"] == "forbidden"
    r = http.request(method, f"{auth_server.url}{path}", headers=bearer("ops"))
    assert r.status_code == 200, r.text


def test_idempotency_key(auth_server, http):
    base = auth_server.url
    key = {"Idempotency-Key": "job-42"}
    first = http.post(f"{base}/v1/sandboxes", json={"ttl": "30m"}, headers={**bearer("alice"), **key})
    assert first.status_code == 201, first.text
    retry = http.post(f"{base}/v1/sandboxes", json={"ttl": "30m"}, headers={**bearer("alice"), **key})
    assert retry.status_code == 200, retry.text
    assert retry.json()["id"] == first.json()["id"]

    # The same key from another consumer is another consumer's request.
    other = http.post(f"{base}/v1/sandboxes", json={"ttl": "30m"}, headers={**bearer("bob"), **key})
    assert other.status_code == 201, other.text
    assert other.json()["id"] != first.json()["id"]
    assert http.get(f"{base}/v1/sandboxes/{first.json()['id']}", headers=bearer("bob")).status_code == 404

    # Reusing a key for a different request is a conflict, not a silent replay.
    r = http.post(f"{base}/v1/sandboxes", json={"profile": "short"}, headers={**bearer("alice"), **key})
    assert_error(r, 409)

    listed = http.get(f"{base}/v1/sandboxes", headers=bearer("ops")).json()["sandboxes"]
    assert len(listed) == 2


@pytest.mark.parametrize("key", ["", "k" * 201])
def test_bad_idempotency_key(auth_server, http, key):
    r = http.post(f"{auth_server.url}/v1/sandboxes", json={}, headers={**bearer("alice"), "Idempotency-Key": key})
    assert r.status_code in (400, 422), r.text
    assert http.get(f"{auth_server.url}/v1/sandboxes", headers=bearer("ops")).json()["sandboxes"] == []


def test_non_loopback_without_tokens_is_refused(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(fake_config(tmp_path))
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.run([str(SANDBOXER), "serve", "--listen", "0.0.0.0:0"], env=server_env(home, cfg),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "token" in lines[0].lower() and "serving on" not in proc.stderr


def test_pages_follow_next_cursor_and_stay_with_their_consumer(auth_server, http):
    base = auth_server.url
    alice, bob = [], []
    for i in range(7):
        who = "bob" if i % 3 == 0 else "alice"
        r = http.post(f"{base}/v1/sandboxes", json={}, headers=bearer(who))
        assert r.status_code == 201, r.text
        (bob if who == "bob" else alice).append(r.json()["id"])

    def walk(who: str, limit: int) -> list[list[str]]:
        pages, params = [], {"limit": limit}
        while True:
            r = http.get(f"{base}/v1/sandboxes", params=params, headers=bearer(who))
            assert r.status_code == 200, r.text
            page = r.json()
            pages.append([s["id"] for s in page["sandboxes"]])
            if page["next_cursor"] is None:
                return pages
            params = {"limit": limit, "cursor": page["next_cursor"]}

    assert walk("alice", 2) == [alice[0:2], alice[2:4]]
    assert walk("bob", 2) == [bob[0:2], bob[2:3]]
    assert sorted(sum(walk("ops", 3), [])) == sorted(alice + bob)
    assert_error(http.get(f"{base}/v1/sandboxes", params={"cursor": "not-a-cursor"}, headers=bearer("alice")), 400)
