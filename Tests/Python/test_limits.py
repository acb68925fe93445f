"""Hard limits and hostile input against the real server (fake backend): every bad request gets a
4xx with the JSON error shape (never a 5xx), nothing is written to the store, and the server keeps serving."""

from __future__ import annotations

import resource
import selectors
import socket
import time

import pytest

from conftest import assert_error, fake_config
from rawhttp import exchange, read_response, request_bytes


def assert_no_rows(http, server) -> None:
    r = http.get(f"{server.url}/v1/sandboxes")
    assert r.status_code == 200, r.text
    assert r.json() == {"sandboxes": [], "next_cursor": None}


def assert_healthy(http, server) -> None:
    r = http.get(f"{server.url}/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text


def raw_error(resp, status: int) -> dict:
    assert resp is not None, "the server closed the connection without an answer"
    assert resp.status == status, (resp.status, resp.body)
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]


# --- Sizes and framing -------------------------------------------------------------------------

def test_oversized_headers_431(fake_server, http):
    big = {"X-Padding": "a" * 20_000}
    resp = exchange(fake_server.host, fake_server.port,
                    request_bytes("POST", "/v1/sandboxes", headers=big, body=b"{}"))
    raw_error(resp, 431)
    # Many small headers add up just the same.
    many = {f"X-H{i}": "b" * 100 for i in range(200)}
    resp = exchange(fake_server.host, fake_server.port, request_bytes("GET", "/v1/sandboxes", headers=many))
    raw_error(resp, 431)
    # And through a real client.
    assert_error(http.post(f"{fake_server.url}/v1/sandboxes", json={}, headers=big), 431)
    assert_healthy(http, fake_server)
    assert_no_rows(http, fake_server)


def test_oversized_body_413(fake_server, http):
    # Announced only: the server answers before reading any of it.
    resp = exchange(fake_server.host, fake_server.port,
                    request_bytes("POST", "/v1/sandboxes", headers={"Content-Length": str(2 << 20)}))
    raw_error(resp, 413)
    # Actually sent, through a real client.
    body = b'{"labels": {"x": "' + b"a" * (2 << 20) + b'"}}'
    assert_error(http.post(f"{fake_server.url}/v1/sandboxes", data=body,
                           headers={"Content-Type": "application/json"}), 413)
    assert_healthy(http, fake_server)
    assert_no_rows(http, fake_server)


def test_body_just_under_the_limit_is_read(fake_server, http):
    # 1 MiB of JSON that is valid but names an unknown field: read whole, then refused with a 422.
    body = b'{"junk": "' + b"a" * ((1 << 20) - 20) + b'"}'
    assert len(body) <= 1 << 20
    assert_error(http.post(f"{fake_server.url}/v1/sandboxes", data=body), 422)
    assert_no_rows(http, fake_server)


def test_chunked_body_411(fake_server, http):
    def chunks():
        yield b'{"profile":'
        yield b' "default"}'

    assert_error(http.post(f"{fake_server.url}/v1/sandboxes", data=chunks(),
                           headers={"Content-Type": "application/json"}), 411)
    resp = exchange(fake_server.host, fake_server.port,
                    request_bytes("POST", "/v1/sandboxes", headers={"Transfer-Encoding": "chunked"},
                                  body=b"2\r\n{}\r\n0\r\n\r\n"))
    raw_error(resp, 411)
    assert_healthy(http, fake_server)
    assert_no_rows(http, fake_server)


def test_conflicting_framing_is_refused(fake_server, http):
    # Content-Length and Transfer-Encoding together is the classic request-smuggling shape.
    resp = exchange(fake_server.host, fake_server.port,
                    request_bytes("POST", "/v1/sandboxes",
                                  headers={"Content-Length": "2", "Transfer-Encoding": "chunked"}, body=b"{}"))
    assert resp is not None and resp.status in (400, 411), resp
    # Two different Content-Lengths.
    resp = exchange(fake_server.host, fake_server.port,
                    b"POST /v1/sandboxes HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}")
    raw_error(resp, 400)
    assert_healthy(http, fake_server)
    assert_no_rows(http, fake_server)


# --- Bodies ------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    b"{", b"{'profile': 'default'}", b"nul", b"\xff\xfe", b'{"ttl": "1h"} x', b'{}{}', b'{"ttl": "1h" /* c */}',
    b'{"ttl": "1h",}', b'{"labels": {"a": "b",}}', b'{"ttl": "1h", "ttl": "2h"}',
    # Duplicates however they are spelled: escapes are decoded before keys are compared.
    b'{"ttl": "1h", "t\\u0074l": "2h"}', b'{"labels": {"a": "1", "\\u0061": "2"}}',
    b'{"ttl": "1h", "\\u0074\\u0074\\u006C": "2h"}', b'{"\\ud800": "x"}', b'{"a\\udc00": "x"}',
])
def test_malformed_json_400(fake_server, http, body):
    assert_error(http.post(f"{fake_server.url}/v1/sandboxes", data=body,
                           headers={"Content-Type": "application/json"}), 400)
    assert_no_rows(http, fake_server)


@pytest.mark.parametrize("payload", [
    [],
    "default",
    {"profile": 5},
    {"ttl": 3600},
    {"labels": ["a"]},
    {"labels": {"a": 1}},
    {"unknown": "x"},
    {"profile": "default", "extra": True},
    {"ttl": "1.5h"},
    {"ttl": "0s"},
    {"ttl": "-1h"},
])
def test_wrong_types_and_unknown_fields_422(fake_server, http, payload):
    err = assert_error(http.post(f"{fake_server.url}/v1/sandboxes", json=payload), 422)
    assert err["code"] == "invalid_argument"
    assert_no_rows(http, fake_server)


@pytest.mark.parametrize("value", ["a\x00b", "line\nbreak", "bell\x07", "del\x7f", "c1\x85"])
def test_label_values_with_control_characters_422(fake_server, http, value):
    err = assert_error(http.post(f"{fake_server.url}/v1/sandboxes", json={"labels": {"k": value}}), 422)
    assert err["code"] == "invalid_argument"
    assert "control character" in err["message"]
    assert_no_rows(http, fake_server)


def test_unknown_profile_404(fake_server, http):
    assert_error(http.post(f"{fake_server.url}/v1/sandboxes", json={"profile": "nope"}), 404)
    assert_no_rows(http, fake_server)


@pytest.mark.parametrize("route,method,payload", [
    ("exec", "POST", {}),
    ("exec", "POST", {"argv": []}),
    ("exec", "POST", {"argv": "true"}),
    ("exec", "POST", {"argv": [1]}),
    ("exec", "POST", {"argv": ["true"], "timeout": "soon"}),
    ("exec", "POST", {"argv": ["true"], "env": {"A": 1}}),
    ("exec", "POST", {"argv": ["true"], "cwd": "/"}),
    ("ttl", "PATCH", {}),
    ("ttl", "PATCH", {"duration": 7200}),
    ("ttl", "PATCH", {"duration": "2 hours"}),
    ("ttl", "PATCH", {"duration": "2h", "by": "me"}),
])
def test_sandbox_body_errors_422(fake_server, http, route, method, payload):
    r = http.post(f"{fake_server.url}/v1/sandboxes", json={})
    assert r.status_code == 201, r.text
    sandbox = r.json()
    r = http.request(method, f"{fake_server.url}/v1/sandboxes/{sandbox['id']}/{route}", json=payload)
    assert_error(r, 422)
    # Nothing changed: still the one sandbox, same deadline, same state.
    listed = http.get(f"{fake_server.url}/v1/sandboxes").json()["sandboxes"]
    assert [s["id"] for s in listed] == [sandbox["id"]]
    assert listed[0]["expires_at"] == sandbox["expires_at"] and listed[0]["state"] == "ready"


@pytest.mark.parametrize("query", ["state=bogus", "limit=0", "limit=1001", "limit=x", "cursor=-1",
                                   "cursor=abc", "cursor=", "label=novalue", "label==v"])
def test_bad_list_queries_400(fake_server, http, query):
    assert_error(http.get(f"{fake_server.url}/v1/sandboxes?{query}"), 400)


@pytest.mark.parametrize("path", ["/v1/sandboxes/expire?apply=yes", "/v1/reap-stale?apply=1"])
def test_bad_flags_400(fake_server, http, path):
    assert_error(http.post(f"{fake_server.url}{path}"), 400)
    assert_no_rows(http, fake_server)


# --- Paths -------------------------------------------------------------------------------------

WEIRD_IDS = [
    "..%2F..%2Fetc%2Fpasswd",
    "..%2F..",
    "..",
    "%2e%2e",
    "sbx-%00",
    "%00",
    "sbx-" + "a" * 4000,
    "%E2%80%AE",
    "sbx-0000000000000000%0D%0AX-Injected:%201",
    "%25",
    "'%20OR%201=1--",
]


@pytest.mark.parametrize("sid", WEIRD_IDS)
@pytest.mark.parametrize("method,suffix,body", [
    ("GET", "", b""),
    ("DELETE", "", b""),
    ("POST", "/exec", b'{"argv": ["true"]}'),
    ("PATCH", "/ttl", b'{"duration": "1h"}'),
])
def test_weird_ids_are_400_or_404(fake_server, http, sid, method, suffix, body):
    resp = exchange(fake_server.host, fake_server.port,
                    request_bytes(method, f"/v1/sandboxes/{sid}{suffix}", body=body))
    assert resp is not None and resp.status in (400, 404), resp
    err = raw_error(resp, resp.status)
    assert "x-injected" not in resp.headers
    assert err["code"]
    assert_no_rows(http, fake_server)


@pytest.mark.parametrize("target", [
    "/v1/sandboxes/../../etc/passwd",
    "/../../../etc/passwd",
    "/v1/sandboxes/./expire",
    "//v1//sandboxes",
    "/v1/sandboxes%2Fexpire",
    "http://evil.example/v1/sandboxes/x",
    "*",
    "/v1/events?sandbox=..%2F..",
])
def test_raw_targets_never_5xx(fake_server, http, target):
    resp = exchange(fake_server.host, fake_server.port, request_bytes("GET", target))
    assert resp is not None and 400 <= resp.status < 500, resp
    assert_no_rows(http, fake_server)


def test_garbage_request_lines(fake_server, http):
    for line in [b"GET\r\n\r\n", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", b"\x00\x01\x02 / HTTP/1.1\r\n\r\n",
                 b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n", b"GET /healthz HTTP/1.1\r\n: empty\r\n\r\n"]:
        resp = exchange(fake_server.host, fake_server.port, line)
        assert resp is not None and 400 <= resp.status < 500 or resp.status == 505, (line, resp)
    assert_healthy(http, fake_server)
    assert_no_rows(http, fake_server)


def test_unknown_route_and_method(fake_server, http):
    assert_error(http.get(f"{fake_server.url}/v2/sandboxes"), 404)
    r = http.put(f"{fake_server.url}/v1/sandboxes", json={})
    assert_error(r, 405)
    assert set(r.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert_no_rows(http, fake_server)


# --- Slow and many clients -----------------------------------------------------------------------

def test_slow_loris(fake_server, http):
    """Half a header: the server keeps answering others, then closes the slow one with a 408."""
    slow = socket.create_connection((fake_server.host, fake_server.port), timeout=30)
    try:
        slow.sendall(b"POST /v1/sandboxes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        for _ in range(20):
            assert_healthy(http, fake_server)
        assert_no_rows(http, fake_server)
        # The server's header timeout (10 s by default) ends it; the bound here is generous.
        started = time.monotonic()
        resp = read_response(slow)
        elapsed = time.monotonic() - started
        assert resp is not None, "closed without the 408"
        raw_error(resp, 408)
        assert slow.recv(1) == b"", "the connection stays open after the 408"
        assert elapsed < 15, elapsed
    finally:
        slow.close()
    assert_healthy(http, fake_server)
    assert_no_rows(http, fake_server)


def raise_nofile(want: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def burst(server, count: int, deadline: float = 60) -> dict[str, int]:
    """Opens `count` connections at once, sends a request on each, and reads every outcome."""
    socks = []
    outcomes = {"200": 0, "503": 0, "closed": 0, "reset": 0}
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex((server.host, server.port))
            assert err in (0, 115), err  # EINPROGRESS
            socks.append(s)
        sel = selectors.DefaultSelector()
        pending_send = set(socks)
        for s in socks:
            sel.register(s, selectors.EVENT_WRITE)
        buffers = {s: b"" for s in socks}
        request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        open_count = len(socks)
        end = time.monotonic() + deadline
        while open_count and time.monotonic() < end:
            for key, events in sel.select(timeout=1):
                s = key.fileobj
                if s in pending_send and events & selectors.EVENT_WRITE:
                    try:
                        s.send(request)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # refused before we spoke; the read below sees the close
                    pending_send.discard(s)
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                    buffers[s] += b"<reset>"
                if chunk:
                    buffers[s] += chunk
                    continue
                sel.unregister(s)
                open_count -= 1
                data = buffers[s]
                if data.startswith(b"HTTP/1.1 200 "):
                    outcomes["200"] += 1
                elif data.startswith(b"HTTP/1.1 503 "):
                    outcomes["503"] += 1
                elif data == b"":
                    outcomes["closed"] += 1
                elif data == b"<reset>":
                    outcomes["reset"] += 1
                else:
                    raise AssertionError(f"unexpected answer: {data[:200]!r}")
        assert open_count == 0, f"{open_count} connections got no answer within {deadline}s"
    finally:
        for s in socks:
            s.close()
    return outcomes


def test_thousand_connections(serve, tmp_path, http):
    # Both sides need ~1,000 descriptors; the server inherits the raised limit.
    limit = raise_nofile(4096)
    if limit < 2200:
        pytest.skip(f"RLIMIT_NOFILE is {limit}; 1,000 connections need more")
    server = serve(fake_config(tmp_path / "cfg"))
    outcomes = burst(server, 1000)
    assert outcomes["200"] + outcomes["503"] == 1000, outcomes
    assert outcomes["200"] > 0, outcomes
    assert_healthy(http, server)
    assert_no_rows(http, server)
    # And again: nothing leaked from the first wave.
    outcomes = burst(server, 1000)
    assert outcomes["200"] + outcomes["503"] == 1000, outcomes
    assert_healthy(http, server)


def test_over_the_connection_limit(serve, tmp_path, http):
    """More connections than the server's limit (1,024), each having sent a request: every excess client
    reads a complete 503 (never a reset or a bare close), within the burst's deadline; then the server
    still serves."""
    limit = raise_nofile(8192)
    if limit < 3000:
        pytest.skip(f"RLIMIT_NOFILE is {limit}; 1,300 connections need more")
    server = serve(fake_config(tmp_path / "cfg"))
    outcomes = burst(server, 1300)
    print("over the limit:", outcomes)
    assert sum(outcomes.values()) == 1300, outcomes
    assert outcomes["reset"] == 0 and outcomes["closed"] == 0, outcomes
    assert outcomes["200"] > 0 and outcomes["503"] > 0, outcomes
    assert_healthy(http, server)
    assert_no_rows(http, server)
