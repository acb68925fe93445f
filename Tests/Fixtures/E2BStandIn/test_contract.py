"""The stand-in against E2B's contract with plain HTTP: error shapes, auth, Connect framing (the
contract's golden bytes), idempotency, paging, snapshots, deadlines, bounds, shutdown."""

from __future__ import annotations

import http.client
import json
import os
import threading
from urllib.parse import quote, urlencode

import pytest

from conftest import API_KEY, process_alive, process_gone
from connect_wire import envd_headers, frame, frames, raw_exchange, split_response, start_request


def _error(raw: bytes, code: int) -> str:
    body = json.loads(raw)
    assert body["code"] == code and isinstance(body["message"], str) and body["message"]
    return body["message"]


def _kill(standin, sandbox):
    standin.request("DELETE", f"/sandboxes/{sandbox['sandboxID']}")


# --- auth and errors ------------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, "e2b_wrong"])
def test_missing_or_wrong_api_key_is_a_401(standin, key):
    headers = {"X-API-Key": key} if key else {}
    status, _, raw = standin.request("GET", "/v2/sandboxes", headers=headers, auth=False)
    assert status == 401
    _error(raw, 401)


def test_errors_are_code_and_message(standin):
    status, _, raw = standin.request("GET", "/no/such/route")
    assert status == 404 and _error(raw, 404)
    status, headers, raw = standin.request("PUT", "/v2/sandboxes")
    assert status == 405 and "GET" in headers["Allow"] and _error(raw, 405)
    status, _, raw = standin.request("POST", "/v2/sandboxes", b"{not json", {"Content-Type": "application/json"})
    assert status == 400 and _error(raw, 400)
    assert standin.request("POST", "/v2/sandboxes", {"timeout": 5})[0] == 400  # no templateID
    assert standin.request("POST", "/v2/sandboxes", {"templateID": "base", "timeout": 10**6})[0] == 400
    assert standin.request("POST", "/v2/sandboxes", {"templateID": "base", "metadata": {"k": 1}})[0] == 400
    status, _, raw = standin.request("POST", "/v2/sandboxes", {"templateID": "no-such-template"})
    assert status == 404 and _error(raw, 404)
    for method, path, body in [("GET", "/sandboxes/inope", None), ("DELETE", "/sandboxes/inope", None),
                               ("POST", "/sandboxes/inope/timeout", {"timeout": 5}),
                               ("POST", "/v2/sandboxes/inope/connect", {}),
                               ("POST", "/sandboxes/inope/snapshots", {}),
                               ("DELETE", "/templates/nope%3Adefault", None)]:
        status, _, raw = standin.request(method, path, body)
        assert status == 404, (method, path)
        _error(raw, 404)


def test_request_bodies_are_bounded(standin):
    # Announce 2 MiB and send none of it: the server refuses on the header alone and closes.
    request = (b"POST /v2/sandboxes HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + API_KEY.encode()
               + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (2 << 20))
    status, headers, body = split_response(raw_exchange(standin.api_port, request))
    assert status == 413 and headers["connection"] == "close"
    _error(body, 413)


def test_chunked_request_body_creates_a_sandbox(standin):
    conn = http.client.HTTPConnection("127.0.0.1", standin.api_port, timeout=30)
    try:
        body = iter([b'{"templateID": ', b'"base", "metadata": ', b'{"via": "chunked"}}'])
        conn.request("POST", "/v2/sandboxes", body=body, encode_chunked=True,
                     headers={"X-API-Key": API_KEY, "Content-Type": "application/json"})
        resp = conn.getresponse()
        created = json.loads(resp.read())
        assert resp.status == 201
    finally:
        conn.close()
    assert set(created) >= {"sandboxID", "templateID", "clientID", "envdVersion", "envdAccessToken"}
    assert standin.sandbox_state(created["sandboxID"])["metadata"] == {"via": "chunked"}
    _kill(standin, created)


def test_state_never_shows_secrets(standin):
    sandbox = standin.create({"templateID": "base", "envVars": {"TOKEN": "s3cret-value"}})
    standin.request("POST", "/process.Process/List", b"{}", envd_headers(sandbox, stream=False), server="envd")
    dump = json.dumps(standin.state())
    for secret in (API_KEY, sandbox["envdAccessToken"], "s3cret-value"):
        assert secret not in dump
    assert standin.state()["lastHeaders"]["GET /v2/sandboxes"]["X-API-Key"] == "<redacted>"
    _kill(standin, sandbox)


# --- Connect framing ------------------------------------------------------------------------

def test_golden_start_request_streams_start_data_end(standin):
    golden = bytes.fromhex("000000004a") + b'{"process":{"cmd":"/bin/bash","args":["-l","-c","echo hi"]},"stdin":false}'
    assert start_request("echo hi") == golden  # our helper speaks the contract's bytes
    sandbox = standin.create()
    conn = http.client.HTTPConnection("127.0.0.1", standin.envd_port, timeout=30)
    try:
        conn.request("POST", "/process.Process/Start", body=iter([golden[:3], golden[3:]]), encode_chunked=True,
                     headers=envd_headers(sandbox))
        resp = conn.getresponse()
        raw = resp.read()
        assert resp.status == 200 and resp.headers["Content-Type"] == "application/connect+json"
    finally:
        conn.close()
    got = frames(raw)
    assert got[0][0] == 0 and isinstance(got[0][1]["event"]["start"]["pid"], int)
    assert {"event": {"data": {"stdout": "aGkK"}}} in [m for _, m in got]  # "hi\n"
    assert got[-2][1] == {"event": {"end": {"exited": True, "status": "exit status 0"}}}
    assert got[-1] == (0x02, {})
    _kill(standin, sandbox)


def test_exit_code_stderr_and_keepalive_events(standin):
    sandbox = standin.create()
    headers = dict(envd_headers(sandbox), **{"Keepalive-Ping-Interval": "1"})
    status, _, raw = standin.request("POST", "/process.Process/Start", start_request("sleep 2; echo no >&2; exit 3"),
                                     headers, server="envd")
    assert status == 200
    events = [m["event"] for flags, m in frames(raw) if not flags & 0x02]
    assert {"keepalive": {}} in events  # idle for longer than the interval the client asked for
    assert {"data": {"stderr": "bm8K"}} in events
    assert events[-1] == {"end": {"exitCode": 3, "exited": True, "status": "exit status 3"}}
    _kill(standin, sandbox)


def test_rpc_errors(standin):
    sandbox = standin.create()
    unary = envd_headers(sandbox, stream=False)
    status, headers, raw = standin.request("POST", "/process.Process/SendSignal",
                                           {"process": {"pid": 999999}, "signal": "SIGNAL_SIGKILL"}, unary,
                                           server="envd")
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert json.loads(raw)["code"] == "not_found"
    # A stream that fails answers 200 with only an end-of-stream envelope carrying the error.
    status, _, raw = standin.request("POST", "/process.Process/Connect", frame({"process": {"pid": 999999}}),
                                     envd_headers(sandbox), server="envd")
    assert status == 200
    [(flags, message)] = frames(raw)
    assert flags == 0x02 and message["error"]["code"] == "not_found"
    status, _, raw = standin.request("POST", "/filesystem.Filesystem/Stat", {"path": "x"}, unary, server="envd")
    assert status == 501 and json.loads(raw)["code"] == "unimplemented"
    _kill(standin, sandbox)


def test_envd_checks_sandbox_and_access_token(standin):
    sandbox = standin.create()
    headers = envd_headers(sandbox, stream=False)
    assert standin.request("GET", "/health", headers=headers, server="envd")[0] == 204
    status, _, raw = standin.request("GET", "/health", headers={}, server="envd")
    assert status == 400 and _error(raw, 400)
    status, _, raw = standin.request("GET", "/health", headers=dict(headers, **{"X-Access-Token": "wrong"}),
                                     server="envd")
    assert status == 401 and _error(raw, 401)
    _kill(standin, sandbox)
    status, _, raw = standin.request("GET", "/health", headers=headers, server="envd")
    assert status == 502 and "was not found" in _error(raw, 502)


# --- idempotency, listing, snapshots --------------------------------------------------------

def test_idempotency_key_rules(standin, label):
    body = {"templateID": "base", "metadata": {"suite": label}}
    key = f"concurrent-{label}"
    results = []
    threads = [threading.Thread(target=lambda: results.append(standin.create(body, {"Idempotency-Key": key})))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r["sandboxID"] for r in results}) == 1
    assert len([s for s in standin.state()["sandboxes"] if s["metadata"].get("suite") == label]) == 1
    status, _, raw = standin.request("POST", "/v2/sandboxes", {"templateID": "base"}, {"Idempotency-Key": key})
    assert status == 422 and _error(raw, 422)
    assert standin.request("POST", "/v2/sandboxes", body, {"Idempotency-Key": "Not Valid"})[0] == 400
    _kill(standin, results[0])


def test_v2_list_pages_with_next_token(standin, label):
    made = {standin.create({"templateID": "base", "metadata": {"suite": label}})["sandboxID"] for _ in range(3)}
    # The metadata filter exactly as the SDK builds it (quoted pairs, form-encoded).
    metadata = urlencode({quote("suite"): quote(label)})
    seen, token, pages = [], None, 0
    while True:
        query = {"metadata": metadata, "limit": "1", "order": "asc", "state": "running"}
        if token:
            query["nextToken"] = token
        status, headers, raw = standin.request("GET", "/v2/sandboxes?" + urlencode(query))
        assert status == 200 and headers["X-Total-Running"] == "3"
        seen += [s["sandboxID"] for s in json.loads(raw)]
        pages += 1
        token = headers.get("X-Next-Token")
        if not token:
            break
    assert pages == 3 and set(seen) == made and len(seen) == 3
    v1 = standin.json("GET", "/sandboxes?" + urlencode({"metadata": metadata}))
    assert {s["sandboxID"] for s in v1} == made
    for bad in ("limit=0", "limit=101", "state=sleeping", "nextToken=garbage", "order=sideways"):
        status, _, raw = standin.request("GET", "/v2/sandboxes?" + bad)
        assert status == 400, bad
        _error(raw, 400)
    for sandbox_id in made:
        standin.request("DELETE", f"/sandboxes/{sandbox_id}")


def test_named_snapshots(standin, label):
    sandbox = standin.create()
    files = envd_headers(sandbox, stream=False)
    files["Content-Type"] = "application/octet-stream"
    standin.request("POST", "/files?path=kept.txt", b"v1", files, server="envd")
    name = f"snap-{label}"
    snap = standin.json("POST", f"/sandboxes/{sandbox['sandboxID']}/snapshots", {"name": name}, expect=201)
    assert snap == {"snapshotID": f"standin/{name}:default", "names": [f"standin/{name}:default"]}
    standin.request("POST", "/files?path=kept.txt", b"v2", files, server="envd")
    again = standin.json("POST", f"/sandboxes/{sandbox['sandboxID']}/snapshots", {"name": name}, expect=201)
    assert again == snap  # the same name gets a new build of the same template
    listed = standin.json("GET", f"/snapshots?sandboxID={sandbox['sandboxID']}")
    assert listed == [snap]

    restored = standin.create({"templateID": name})  # by bare name as well as by full id
    got = standin.request("GET", "/files?path=kept.txt", headers=envd_headers(restored, stream=False),
                          server="envd")
    assert got[0] == 200 and got[2] == b"v2"
    assert standin.request("DELETE", "/templates/" + quote(snap["snapshotID"], safe=""))[0] == 204
    assert standin.request("POST", "/v2/sandboxes", {"templateID": snap["snapshotID"]})[0] == 404
    _kill(standin, sandbox)
    _kill(standin, restored)


def test_files_are_confined_to_the_sandbox(standin):
    sandbox = standin.create()
    headers = envd_headers(sandbox, stream=False)
    octet = dict(headers, **{"Content-Type": "application/octet-stream"})
    status, _, raw = standin.request("POST", "/files?path=/etc/standin-escape", b"x", octet, server="envd")
    assert status == 400 and _error(raw, 400)
    status, _, raw = standin.request("POST", "/files?path=../../escape", b"x", octet, server="envd")
    assert status == 400
    assert standin.request("GET", "/files?path=.", headers=headers, server="envd")[0] == 400  # a directory
    assert standin.request("GET", "/files?path=missing", headers=headers, server="envd")[0] == 404
    boundary = "XyZ"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a/one.txt\"\r\n\r\n1\r\n"
                 f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"two.txt\"\r\n\r\n2\r\n"
                 f"--{boundary}--\r\n").encode()
    written = standin.json("POST", "/files", multipart,
                           dict(headers, **{"Content-Type": f"multipart/form-data; boundary={boundary}"}),
                           server="envd")
    assert [w["name"] for w in written] == ["one.txt", "two.txt"]
    assert standin.request("GET", "/files?path=/home/user/a/one.txt", headers=headers, server="envd")[2] == b"1"
    _kill(standin, sandbox)


# --- deadlines and shutdown -----------------------------------------------------------------

def test_shortened_timeout_is_enforced(standin):
    sandbox = standin.create({"templateID": "base", "timeout": 600})
    assert standin.request("POST", f"/sandboxes/{sandbox['sandboxID']}/timeout", {"timeout": 1})[0] == 204
    assert standin.wait_gone(sandbox["sandboxID"])["reason"] == "timeout"
    assert standin.request("GET", f"/sandboxes/{sandbox['sandboxID']}")[0] == 404
    assert standin.request("POST", f"/v2/sandboxes/{sandbox['sandboxID']}/connect", {})[0] == 404


def test_wait_times_out_with_a_408_while_the_sandbox_lives(standin):
    sandbox = standin.create()
    status, _, raw = standin.request("GET", f"/_standin/wait?sandboxID={sandbox['sandboxID']}&timeoutMs=0",
                                     auth=False)
    assert status == 408 and _error(raw, 408)
    _kill(standin, sandbox)


def test_sigterm_kills_every_sandbox_process(fresh_standin):
    server = fresh_standin()
    sandbox = server.create()
    status, _, raw = server.request("POST", "/process.Process/Start",
                                    start_request("sleep 300 >/dev/null 2>&1 & echo $!"), envd_headers(sandbox),
                                    server="envd")
    assert status == 200
    stdout = [m["event"]["data"]["stdout"] for _, m in frames(raw) if "data" in m.get("event", {})]
    import base64
    orphan = int(base64.b64decode("".join(stdout)))
    assert process_alive(orphan)
    home = server.sandbox_state(sandbox["sandboxID"])["home"]
    assert os.path.isdir(home)

    assert server.stop() == 0
    assert process_gone(orphan)
    assert not os.path.exists(home)
    assert "killing every sandbox" in server.log()
