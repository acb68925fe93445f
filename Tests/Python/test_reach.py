"""Reachability over HTTP against a real `sandboxer serve`: GET /v1/sandboxes/{id}/endpoints gives a
descriptor that validates against docs/schemas/reach-v1.schema.json (jsonschema_rs), probes loopback
services this test starts, reveals secrets only to the owner; consumer profiles decide who creates
from what. The TestPlugin's endpoints point at those loopback services (nothing else is contacted)."""

from __future__ import annotations

import hashlib
import json
import socketserver
import threading
from pathlib import Path

import jsonschema_rs
import pytest

from conftest import ROOT, TEST_PLUGIN, TOKENS, assert_error, bearer, needs_localvm

SCHEMA = json.loads((ROOT / "docs" / "schemas" / "reach-v1.schema.json").read_text())


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _HTTP(socketserver.StreamRequestHandler):
    def handle(self):
        while self.rfile.readline() not in (b"\r\n", b""):
            pass
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


@pytest.fixture
def services():
    """An echo server and an HTTP server on 127.0.0.1; yields their ports."""
    started = []
    for handler in (_Echo, _HTTP):
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield {"echo": started[0].server_address[1], "http": started[1].server_address[1]}
    for server in started:
        server.shutdown()
        server.server_close()


def reach_config(tmp: Path, ports: dict[str, int]) -> str:
    state = tmp / "fake"
    state.mkdir(parents=True, exist_ok=True)
    text = f"""\
data_dir: {tmp / 'data'}
backends:
  fake:
    plugin: {TEST_PLUGIN}
    config:
      state_dir: {state}
      endpoints:
        - name: direct-8080
          kind: tcp
          target_port: 8080
          host: 127.0.0.1
          port: {ports['http']}
          tls: false
          auth: {{scheme: header, name: x-token, secret_ref: WS_TOKEN}}
        - name: direct-5432
          kind: tcp
          target_port: 5432
          host: 127.0.0.1
          port: {ports['echo']}
          tls: false
          auth: {{scheme: none}}
profiles:
  default:
    backend: fake
    consumer: "*"
  ws:
    backend: fake
    network: bridge
    consumer: alice
    reach:
      web: {{port: 8080, kind: http}}
      db: {{port: 5432, kind: tcp}}
server:
  tokens:
"""
    for name, (role, token) in TOKENS.items():
        text += f"    - {{name: {name}, role: {role}, sha256: {hashlib.sha256(token.encode()).hexdigest()}}}\n"
    return text


@pytest.fixture
def reach_server(serve, tmp_path, services):
    # The host resolves secret_ref WS_TOKEN through its secret lookup: SANDBOXER_SECRET_WS_TOKEN.
    return serve(reach_config(tmp_path / "cfg", services), env={"SANDBOXER_SECRET_WS_TOKEN": "t0p-s3cret"})


def create_ws(http, base: str) -> str:
    r = http.post(f"{base}/v1/sandboxes", json={"profile": "ws"}, headers=bearer("alice"))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_descriptor_validates_and_probes(reach_server, http, services):
    base = reach_server.url
    sid = create_ws(http, base)
    r = http.get(f"{base}/v1/sandboxes/{sid}/endpoints", params={"probe": "true"}, headers=bearer("alice"))
    assert r.status_code == 200, r.text
    d = r.json()
    errors = [e.message for e in jsonschema_rs.validator_for(SCHEMA).iter_errors(d)]
    assert errors == [], errors
    assert d["schema"] == "sandboxer.reach/v1" and d["sandbox_id"] == sid
    by_name = {e["name"]: e for e in d["endpoints"]}
    assert set(by_name) == {"web", "db"}
    assert by_name["web"]["url"] == f"http://127.0.0.1:{services['http']}/"
    assert by_name["web"]["auth"] == {"scheme": "header", "name": "x-token", "secret_ref": "WS_TOKEN"}
    assert by_name["web"]["probe"]["reachable"] is True and by_name["web"]["probe"]["status"] == 200
    assert by_name["db"]["probe"]["reachable"] is True
    assert "t0p-s3cret" not in r.text
    # The schema is not a rubber stamp: a descriptor without its endpoints' hosts fails it.
    broken = json.loads(r.text)
    del broken["endpoints"][0]["host"]
    assert not jsonschema_rs.validator_for(SCHEMA).is_valid(broken)


def test_only_the_owner_and_operators_reach_and_reveal(reach_server, http):
    base = reach_server.url
    sid = create_ws(http, base)
    revealed = http.get(f"{base}/v1/sandboxes/{sid}/endpoints", params={"reveal": "true"}, headers=bearer("alice"))
    assert revealed.status_code == 200
    assert revealed.headers.get("Cache-Control") == "no-store"
    web = next(e for e in revealed.json()["endpoints"] if e["name"] == "web")
    assert web["auth"]["secret"] == "t0p-s3cret"
    assert http.get(f"{base}/v1/sandboxes/{sid}/endpoints", params={"reveal": "true"}, headers=bearer("ops")).status_code == 200
    theirs = http.get(f"{base}/v1/sandboxes/{sid}/endpoints", params={"reveal": "true"}, headers=bearer("bob"))
    assert_error(theirs, 404)
    assert "t0p-s3cret" not in theirs.text
    assert_error(http.get(f"{base}/v1/sandboxes/{sid}/endpoints", params={"port": "9999"}, headers=bearer("alice")), 404)
    assert_error(http.get(f"{base}/v1/sandboxes/{sid}/endpoints", params={"port": "0"}, headers=bearer("alice")), 400)
    assert http.delete(f"{base}/v1/sandboxes/{sid}", headers=bearer("alice")).status_code == 200
    assert_error(http.get(f"{base}/v1/sandboxes/{sid}/endpoints", headers=bearer("alice")), 409)
    # The secret never reached the server's log.
    assert "t0p-s3cret" not in reach_server.stderr_text()


def test_consumers_see_and_use_only_their_profiles(reach_server, http):
    base = reach_server.url
    names = lambda who: [p["name"] for p in http.get(f"{base}/v1/profiles", headers=bearer(who)).json()["profiles"]]
    assert names("ops") == ["default", "ws"]
    assert names("alice") == ["default", "ws"]
    assert names("bob") == ["default"]
    err = assert_error(http.post(f"{base}/v1/sandboxes", json={"profile": "ws"}, headers=bearer("bob")), 404)
    assert err["message"] == "No profile named 'ws' is open to consumer 'bob' (open to it: default)."
    assert http.get(f"{base}/v1/sandboxes", headers=bearer("ops")).json()["sandboxes"] == []
    assert http.post(f"{base}/v1/sandboxes", json={"profile": "ws"}, headers=bearer("ops")).status_code == 201


# The example consumer profiles over HTTP on LocalVM: the committed files, plugin pointed at the build.

EXAMPLES = ROOT / "docs" / "examples"
EXAMPLE_TOKENS = {"glas-harness": "glas-harness-token-0123", "snuggle": "snuggle-token-0123"}


def example_config(tmp: Path, name: str) -> str:
    from conftest import BUILD_DIR
    text = (EXAMPLES / name).read_text()
    assert "plugin: libSandboxerLocalVM.so\n" in text
    text = text.replace("plugin: libSandboxerLocalVM.so\n", f"plugin: {BUILD_DIR / 'libSandboxerLocalVM.so'}\n")
    text = f"data_dir: {tmp / 'data'}\n" + text + "server:\n  tokens:\n"
    for consumer, token in EXAMPLE_TOKENS.items():
        text += f"    - {{name: {consumer}, role: consumer, sha256: {hashlib.sha256(token.encode()).hexdigest()}}}\n"
    return text


def as_consumer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {EXAMPLE_TOKENS[name]}"}


@needs_localvm
def test_glas_harness_example_over_http(serve, tmp_path, http):
    server = serve(example_config(tmp_path, "glas-harness.yaml"))
    base = server.url
    assert [p["name"] for p in http.get(f"{base}/v1/profiles", headers=as_consumer("snuggle")).json()["profiles"]] == []
    assert_error(http.post(f"{base}/v1/sandboxes", json={"profile": "glas-harness"}, headers=as_consumer("snuggle")), 404)
    r = http.post(f"{base}/v1/sandboxes", json={"profile": "glas-harness"}, headers=as_consumer("glas-harness"))
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    try:
        for i in range(5):
            r = http.post(f"{base}/v1/sandboxes/{sid}/exec", json={"argv": ["sh", "-c", f"echo {i}"]},
                          headers=as_consumer("glas-harness"))
            assert r.status_code == 200 and r.json()["stdout"] == f"{i}\n", r.text
        # No inbound: nothing to reach (no capability, or no network: either way an error, not endpoints).
        r = http.get(f"{base}/v1/sandboxes/{sid}/endpoints", headers=as_consumer("glas-harness"))
        assert r.status_code in (422, 502), r.text
    finally:
        assert http.delete(f"{base}/v1/sandboxes/{sid}", headers=as_consumer("glas-harness")).status_code == 200


@needs_localvm
def test_snuggle_example_over_http(serve, tmp_path, http):
    server = serve(example_config(tmp_path, "snuggle.yaml"))
    base = server.url
    backends = http.get(f"{base}/v1/backends", headers=as_consumer("snuggle")).json()["backends"]
    if "sandboxer.reach/1" not in backends[0]["capabilities"]:
        pytest.skip("the built LocalVM plugin does not declare sandboxer.reach/1 yet (network: bridge comes with the lvnet branch)")
    r = http.post(f"{base}/v1/sandboxes", json={"profile": "snuggle"}, headers=as_consumer("snuggle"))
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    try:
        r = http.post(f"{base}/v1/sandboxes/{sid}/exec", headers=as_consumer("snuggle"), json={
            "argv": ["sh", "-c", "mkdir -p /tmp/www && echo hi > /tmp/www/index.html && busybox httpd -p 8080 -h /tmp/www"]})
        assert r.status_code == 200 and r.json()["exit_code"] == 0, r.text
        r = http.get(f"{base}/v1/sandboxes/{sid}/endpoints", params={"port": "8080", "probe": "true"}, headers=as_consumer("snuggle"))
        assert r.status_code == 200, r.text
        d = r.json()
        assert [e.message for e in jsonschema_rs.validator_for(SCHEMA).iter_errors(d)] == []
        web = d["endpoints"][0]
        assert web["name"] == "web" and web["probe"]["reachable"] is True and web["probe"]["status"] == 200
    finally:
        assert http.delete(f"{base}/v1/sandboxes/{sid}", headers=as_consumer("snuggle")).status_code == 200
