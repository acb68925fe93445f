"""Fixtures: a running stand-in (started with a FIFO port file as its ready handshake) and
plain-HTTP helpers to drive and inspect it."""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
STANDIN = HERE / "standin.py"
API_KEY = "e2b_standin_test_key"
START_DEADLINE_S = 30


class StandIn:
    """One stand-in process on loopback ports of its choosing."""

    def __init__(self, workdir: Path, *extra_args: str):
        workdir.mkdir(parents=True, exist_ok=True)
        fifo = workdir / "ports"
        os.mkfifo(fifo)
        self.log_path = workdir / "standin.log"
        log = open(self.log_path, "w")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, str(STANDIN), "--api-port", "0", "--envd-port", "0", "--port-file", str(fifo),
             "--api-key", API_KEY, "--verbose", *extra_args],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env, cwd=str(HERE),
        )
        log.close()
        # Ready handshake: the stand-in writes its ports into the FIFO once it listens. If it dies
        # first, a watcher opens the FIFO for writing and closes it, so the read ends (empty).
        ports: dict = {}

        def read_ports():
            with open(fifo) as f:
                ports["text"] = f.read()

        def unblock_on_exit():
            self.proc.wait()
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass

        reader = threading.Thread(target=read_ports, daemon=True)
        reader.start()
        threading.Thread(target=unblock_on_exit, daemon=True).start()
        reader.join(START_DEADLINE_S)
        if not ports.get("text"):
            self.stop()
            raise RuntimeError(f"the stand-in did not start:\n{self.log()}")
        info = json.loads(ports["text"])
        self.api_port, self.envd_port, self.pid = info["api"], info["envd"], info["pid"]
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.envd_url = f"http://127.0.0.1:{self.envd_port}"

    def log(self) -> str:
        """What the stand-in wrote to stdout/stderr so far."""
        try:
            return self.log_path.read_text()
        except OSError:
            return ""

    def stop(self) -> int:
        """SIGTERM and wait; the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    # --- plain HTTP -------------------------------------------------------------------------

    def request(self, method: str, path: str, body=None, headers=None, server: str = "api", auth: bool = True,
                timeout: float = 30):
        """(status, headers, raw body) of one request on a fresh connection."""
        port = self.api_port if server == "api" else self.envd_port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        hdrs = dict(headers or {})
        if auth and server == "api":
            hdrs.setdefault("X-API-Key", API_KEY)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body=None, headers=None, expect: int = 200, **kw):
        """The parsed JSON answer, asserting its status."""
        status, _, raw = self.request(method, path, body, headers, **kw)
        assert status == expect, (status, raw)
        return json.loads(raw) if raw else None

    def state(self) -> dict:
        """GET /_standin/state."""
        return self.json("GET", "/_standin/state", auth=False)

    def sandbox_state(self, sandbox_id: str):
        """This sandbox's entry in the state, or None when it is not live."""
        return next((s for s in self.state()["sandboxes"] if s["sandboxID"] == sandbox_id), None)

    def wait_gone(self, sandbox_id: str, timeout_ms: int = 15000) -> dict:
        """Long-poll until the sandbox is gone; its record."""
        return self.json("GET", f"/_standin/wait?sandboxID={sandbox_id}&timeoutMs={timeout_ms}", auth=False,
                         timeout=timeout_ms / 1000 + 10)

    def fault(self, **spec) -> dict:
        """Arm a fault."""
        return self.json("POST", "/_standin/faults", spec, expect=201, auth=False)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.json("DELETE", "/_standin/faults", auth=False)

    def create(self, body=None, headers=None) -> dict:
        """A sandbox created through the raw API."""
        return self.json("POST", "/v2/sandboxes", body or {"templateID": "base"}, headers, expect=201)


def process_gone(pid: int, timeout: float = 10.0) -> bool:
    """True once `pid` has exited (a zombie counts as exited), waiting on a pidfd, no polling."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


def process_alive(pid: int) -> bool:
    """True while `pid` runs and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    """One stand-in shared by the tests of a session (tests isolate by unique metadata)."""
    server = StandIn(tmp_path_factory.mktemp("standin"))
    yield server
    code = server.stop()
    assert code == 0, f"the stand-in exited {code}:\n{server.log()}"


@pytest.fixture
def fresh_standin(tmp_path):
    """A stand-in of this test's own (for shutdown tests and exact counts)."""
    servers = []

    def start(*extra_args):
        server = StandIn(tmp_path / f"standin{len(servers)}", *extra_args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(autouse=True)
def _disarm_faults(request):
    """A test's armed faults never leak into the next test."""
    yield
    if "standin" in request.fixturenames:
        request.getfixturevalue("standin").clear_faults()


@pytest.fixture
def sdk(standin, monkeypatch):
    """The SDK pointed at the stand-in by environment, as a user would; sandboxes made through
    `sdk.create` are killed after the test."""
    monkeypatch.setenv("E2B_API_KEY", API_KEY)
    monkeypatch.setenv("E2B_API_URL", standin.api_url)
    monkeypatch.setenv("E2B_SANDBOX_URL", standin.envd_url)
    from e2b import Sandbox  # imported here: the stand-in's own tests need no SDK

    made = []

    class Maker:
        @staticmethod
        def create(**kw) -> Sandbox:
            sb = Sandbox.create(**kw)
            made.append(sb.sandbox_id)
            return sb

    yield Maker
    for sandbox_id in made:
        Sandbox.kill(sandbox_id)


@pytest.fixture
def label():
    """A unique metadata value, so list filters see only this test's sandboxes."""
    return f"t-{uuid.uuid4().hex[:12]}"
