"""Webhook sinks end to end: a real `sandboxer serve` (fake TestPlugin backend) delivering to a receiver
(`http.server` in a thread) that verifies every signature with the recipe in docs/webhooks.md.

(a) a first attempt answered 500 is retried and then acknowledged; (b) `kill -9` of the host while the
receiver holds a delivery open: the restarted host sends it again with the same event id; (c) across
each run nothing acknowledged arrives twice and every event in the store that passes the sink's filter
arrives. Waiting is polling with a deadline or a threading.Event handshake, never a fixed sleep.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest

from conftest import SANDBOXER, fake_config, server_env, start_server

SECRET = b"whsec_python_test_0123456789"
TOLERANCE = 300
# Bounds for waits on the host: how long healthy deliveries (with retries and one lease) may take.
DEADLINE = 60.0
EVENT_ID = re.compile(r"^evt_[0-9a-f]{16}_(\d+)$")


def verify(secret: bytes, headers, body: bytes) -> bool:
    """The receiver recipe of docs/webhooks.md, verbatim."""
    timestamp = headers["Sandboxer-Timestamp"]
    if abs(time.time() - int(timestamp)) > TOLERANCE:
        return False  # stale or from the future: a replay, or a badly wrong clock
    expected = "v1=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    # A header may carry several comma-separated signatures (a future scheme next to v1).
    return any(hmac.compare_digest(expected, candidate.strip())
               for candidate in headers["Sandboxer-Signature"].split(","))


@dataclass
class Arrival:
    """One POST the receiver got."""

    event_id: str
    event_type: str
    seq: int
    attempt: int
    verified: bool
    body: dict
    acked: bool = False


class Receiver:
    """A webhook receiver; `decide(arrival, earlier_arrivals_of_that_id)` returns a status, or None to hold
    the request open until `release` is set (then it answers 503, never an ack)."""

    def __init__(self, decide: Callable[[Arrival, list[Arrival]], int | None]):
        self.decide = decide
        self.lock = threading.Lock()
        self.arrivals: list[Arrival] = []
        self.held = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload = json.loads(body)
                arrival = Arrival(event_id=self.headers["Sandboxer-Event-Id"],
                                  event_type=self.headers["Sandboxer-Event-Type"], seq=payload["seq"],
                                  attempt=int(self.headers["Sandboxer-Delivery-Attempt"]),
                                  verified=verify(SECRET, self.headers, body) and payload["id"] == self.headers["Sandboxer-Event-Id"],
                                  body=payload)
                with receiver.lock:
                    earlier = [a for a in receiver.arrivals if a.event_id == arrival.event_id]
                    receiver.arrivals.append(arrival)
                status = receiver.decide(arrival, earlier)
                if status is None:
                    receiver.held.set()
                    receiver.release.wait(DEADLINE)
                    status = 503
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.wfile.flush()
                except OSError:
                    return  # the host is gone: not acknowledged
                if 200 <= status < 300:
                    with receiver.lock:
                        arrival.acked = True

            def log_message(self, *args):  # keep pytest's output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/sandboxer?team=infra"

    def snapshot(self) -> list[Arrival]:
        with self.lock:
            return list(self.arrivals)

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        """Polls `condition` until it holds or DEADLINE passes."""
        deadline = time.monotonic() + DEADLINE
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}; arrivals: {self.snapshot()}")
            time.sleep(0.05)  # a polling interval, not a wait for something to have happened

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(decide):
        r = Receiver(decide)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def config(tmp: Path, url: str, *, events: list[str] | None = None, timeout: str = "5s") -> str:
    secret_file = tmp / "webhook.secret"
    secret_file.write_bytes(SECRET + b"\n")  # the trailing newline is not part of the secret
    text = fake_config(tmp / "cfg")
    text += (f"webhooks:\n  - name: hooks\n    url: \"{url}\"\n    secret: file:{secret_file}\n"
             f"    timeout: {timeout}\n    max_attempts: 5\n    backoff: {{initial: 1s, max: 2s}}\n")
    if events is not None:
        text += f"    events: [{', '.join(events)}]\n"
    return text


def store_events(http, base: str) -> list[dict]:
    """Every event in the store, through the API."""
    events, since = [], 0
    while True:
        page = http.get(f"{base}/v1/events", params={"since": since, "limit": 1000}).json()
        events += page["events"]
        if not page["events"]:
            return events
        since = page["next_since"]


def assert_exactly_once(receiver: Receiver, expected: list[dict]) -> None:
    """(c): every expected event was acknowledged; an id arrives again only if no earlier arrival was
    acknowledged; nothing else arrived; every arrival verified and carries its event."""
    arrivals = receiver.snapshot()
    assert all(a.verified for a in arrivals), [a for a in arrivals if not a.verified]
    by_id: dict[str, list[Arrival]] = {}
    for a in arrivals:
        by_id.setdefault(a.event_id, []).append(a)
    for event_id, list_ in by_id.items():
        for i, a in enumerate(list_):
            assert not any(b.acked for b in list_[:i]), f"{event_id} arrived again after it was acknowledged: {list_}"
        match = EVENT_ID.match(event_id)
        assert match and all(int(match.group(1)) == a.seq for a in list_), list_
    expected_seqs = sorted(e["seq"] for e in expected)
    assert sorted(a.seq for a in arrivals if a.acked) == expected_seqs
    assert sorted({a.seq for a in arrivals}) == expected_seqs, "nothing outside the filter arrived"
    for a in arrivals:
        event = next(e for e in expected if e["seq"] == a.seq)
        assert a.event_type == event["type"]
        assert {k: v for k, v in a.body.items() if k != "id"} == event


def test_a_failed_attempt_is_retried_and_signed(serve, receivers, http, tmp_path):
    """(a) Each event's first attempt gets a 500; the retry is acknowledged; every signature verifies."""
    receiver = receivers(lambda arrival, earlier: 500 if not earlier else 200)
    server = serve(config(tmp_path, receiver.url))
    base = server.url

    r = http.post(f"{base}/v1/sandboxes", json={})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert http.delete(f"{base}/v1/sandboxes/{sid}").status_code == 200

    expected = store_events(http, base)
    assert {"created", "destroyed"} <= {e["type"] for e in expected}, expected
    receiver.wait_for(lambda: {a.seq for a in receiver.snapshot() if a.acked} >= {e["seq"] for e in expected},
                      "every event to be acknowledged")
    assert_exactly_once(receiver, expected)
    for seq in {e["seq"] for e in expected}:
        attempts = [a for a in receiver.snapshot() if a.seq == seq]
        assert [a.attempt for a in attempts] == [1, 2], attempts
        assert attempts[0].event_id == attempts[1].event_id
        assert attempts[1].acked and not attempts[0].acked

    assert http.get(f"{base}/v1/events/failed").json() == {"failed": []}
    # The host counts a delivery once it has read the answer, just after the receiver has sent it.
    delivered = f'sandboxer_webhook_deliveries_total{{outcome="delivered",sink="hooks"}} {len(expected)}\n'
    receiver.wait_for(lambda: delivered in http.get(f"{base}/metrics").text, "the delivered counter")
    metrics = http.get(f"{base}/metrics").text
    assert f'sandboxer_webhook_deliveries_total{{outcome="failed",sink="hooks"}} {len(expected)}\n' in metrics
    # The secret never reaches the log.
    assert SECRET.decode() not in server.stderr_text()


def test_kill_9_mid_delivery_redelivers_the_same_event_after_restart(serve, receivers, http, tmp_path):
    """(b) The host dies while the receiver holds a delivery open; the restarted host sends it again
    (same event id) once its lease runs out, and it is acknowledged. (c) holds across both hosts."""
    first_id: list[str] = []

    def decide(arrival, earlier):
        if not first_id:
            first_id.append(arrival.event_id)
            return None  # hold the very first delivery open
        return 200

    receiver = receivers(decide)
    text = config(tmp_path, receiver.url, timeout="5s")
    # Started by hand: the fixture would (rightly) fail a server that did not exit 0.
    doomed = start_server(tmp_path / "doomed", text)
    try:
        r = http.post(f"{doomed.url}/v1/sandboxes", json={})
        assert r.status_code == 201, r.text
        assert receiver.held.wait(DEADLINE), "the first delivery never arrived"
        doomed.proc.kill()
        doomed.proc.wait(timeout=DEADLINE)
    finally:
        if doomed.proc.poll() is None:
            doomed.proc.kill()
            doomed.proc.wait()
    receiver.release.set()  # its answer goes nowhere: not an ack

    server = serve(text)  # same data_dir (the config names it), so the same store and leases
    base = server.url
    r = http.post(f"{base}/v1/sandboxes", json={})  # more events, after the restart
    assert r.status_code == 201, r.text
    assert http.delete(f"{base}/v1/sandboxes/{r.json()['id']}").status_code == 200

    expected = store_events(http, base)
    receiver.wait_for(lambda: {a.seq for a in receiver.snapshot() if a.acked} >= {e["seq"] for e in expected},
                      "every event to be acknowledged after the restart")
    assert_exactly_once(receiver, expected)
    again = [a for a in receiver.snapshot() if a.event_id == first_id[0]]
    assert len(again) == 2 and not again[0].acked and again[1].acked, again
    assert again[1].body == again[0].body


def test_filters_failures_and_dead_letters(serve, receivers, http, tmp_path):
    """(c) Several sandboxes, a receiver that fails some attempts, a filtered sink: every matching event is
    acknowledged once; then a receiver outage dead-letters a delivery, which the operator lists and requeues."""
    outage = threading.Event()

    def decide(arrival, earlier):
        if outage.is_set():
            return 503
        # Deterministic failures: roughly a third of first attempts and every third attempt of those.
        return 500 if (arrival.seq % 3 == 0 and arrival.attempt < 3) else 200

    receiver = receivers(decide)
    server = serve(config(tmp_path, receiver.url, events=["created", "destroyed"]))
    base = server.url
    ids = []
    for _ in range(4):
        r = http.post(f"{base}/v1/sandboxes", json={})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for sid in ids:
        assert http.delete(f"{base}/v1/sandboxes/{sid}").status_code == 200

    expected = [e for e in store_events(http, base) if e["type"] in ("created", "destroyed")]
    assert len(expected) == 8
    receiver.wait_for(lambda: {a.seq for a in receiver.snapshot() if a.acked} >= {e["seq"] for e in expected},
                      "every created and destroyed event to be acknowledged")
    assert_exactly_once(receiver, expected)

    # An outage longer than max_attempts (5) dead-letters the next event.
    outage.set()
    r = http.post(f"{base}/v1/sandboxes", json={})
    assert r.status_code == 201, r.text
    created_seq = max(e["seq"] for e in store_events(http, base) if e["type"] == "created")

    def failed():
        return http.get(f"{base}/v1/events/failed").json()["failed"]

    receiver.wait_for(lambda: len(failed()) == 1, "the delivery to be dead-lettered")
    dead = failed()[0]
    assert dead["sink"] == "hooks" and dead["seq"] == created_seq and dead["type"] == "created"
    assert dead["attempts"] == 5 and dead["last_status"] == 503
    assert dead["last_error"] == "The receiver answered HTTP 503."
    assert re.match(EVENT_ID, dead["event_id"]) and dead["event_id"].endswith(f"_{created_seq}")
    assert [a.attempt for a in receiver.snapshot() if a.seq == created_seq] == [1, 2, 3, 4, 5]

    # The operator's requeue, through the CLI on the same store while serve runs.
    outage.clear()
    cfg = tmp_path / "server1" / "config.yaml"
    env = server_env(server.home, cfg)
    listed = subprocess.run([str(SANDBOXER), "webhook-failures", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert [d["event_id"] for d in json.loads(listed.stdout)] == [dead["event_id"]]
    retried = subprocess.run([str(SANDBOXER), "webhook-failures", "--retry", "--json"], env=env, capture_output=True,
                             text=True, timeout=60)
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout) == {"requeued": 1}
    receiver.wait_for(lambda: any(a.seq == created_seq and a.acked for a in receiver.snapshot()),
                      "the requeued delivery to be acknowledged")
    assert failed() == []
    assert [a.attempt for a in receiver.snapshot() if a.seq == created_seq] == [1, 2, 3, 4, 5, 1]
