"""One client cannot stall or lock out the others: long execs, idle connections (issue 15, fair API)."""

from __future__ import annotations

import http.client
import resource
import socket
import threading
import time

import pytest

from conftest import needs_localvm


def long_requests_running(http, base: str) -> int:
    for line in http.get(f"{base}/metrics").text.splitlines():
        if line.startswith("sandboxer_long_requests "):
            return int(float(line.split()[1]))
    raise AssertionError("/metrics has no sandboxer_long_requests gauge")


@needs_localvm
def test_eight_long_execs_leave_health_and_reads_answering(localvm_server, http):
    base = localvm_server.url
    r = http.post(f"{base}/v1/sandboxes", json={})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]

    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def run_exec() -> None:
        resp = http.post(f"{base}/v1/sandboxes/{sid}/exec", json={"argv": ["sleep", "4"]})
        with lock:
            results.append((resp.status_code, dict(resp.headers)))

    threads = [threading.Thread(target=run_exec) for _ in range(8)]
    for t in threads:
        t.start()
    # Handshake: the server's own gauge says four execs hold workers: with no tokens every caller is
    # the one local operator, so the per-token bound (4) binds before the total (6).
    deadline = time.monotonic() + 20
    while long_requests_running(http, base) < 4:
        assert time.monotonic() < deadline, f"four execs never started: {results}"
    latencies = []
    for _ in range(20):
        started = time.monotonic()
        assert http.get(f"{base}/healthz").status_code == 200
        latencies.append(time.monotonic() - started)
    started = time.monotonic()
    assert http.get(f"{base}/v1/sandboxes/{sid}").status_code == 200  # workers stay free for reads
    read_latency = time.monotonic() - started
    print(f"healthz while 4 execs run: max {max(latencies) * 1000:.1f} ms; GET sandbox {read_latency * 1000:.1f} ms")
    assert max(latencies) < 1.0 and read_latency < 2.0, (latencies, read_latency)
    for t in threads:
        t.join(timeout=60)
    statuses = sorted(code for code, _ in results)
    assert statuses == [200] * 4 + [429] * 4, statuses
    assert all(h.get("Retry-After") == "1" for code, h in results if code == 429)


def test_idle_connections_from_one_address_do_not_lock_out_another(fake_server):
    """1,024 idle connections (the server's limit) from 127.0.0.1; a client on 127.0.0.2 is served at
    once, because one of the idle ones makes room for it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    idle = []
    try:
        for _ in range(1024):
            s = socket.create_connection((fake_server.host, fake_server.port), timeout=10)
            idle.append(s)
        # The last idle socket's request proves all 1,024 were accepted (the server answers in order).
        idle[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle[-1].recv(4096).startswith(b"HTTP/1.1 200 ")
        other = http.client.HTTPConnection(fake_server.host, fake_server.port, timeout=10,
                                           source_address=("127.0.0.2", 0))
        started = time.monotonic()
        other.request("GET", "/v1/sandboxes")
        resp = other.getresponse()
        body = resp.read()
        elapsed = time.monotonic() - started
        assert resp.status == 200, body
        print(f"127.0.0.2 served in {elapsed * 1000:.1f} ms while 127.0.0.1 held 1,024 idle connections")
        assert elapsed < 2.0
    finally:
        for s in idle:
            s.close()
