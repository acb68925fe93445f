"""Fixtures: a running stand-in (ready handshake through a FIFO) and Modal's official client set up
to talk to it, with its configuration isolated from the machine's."""

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "standin.py")
TOKEN_ID = "ak-standin-test"
TOKEN_SECRET = "as-standin-test-secret"
READY_TIMEOUT_SECS = 60

# Modal reads its config file when it is imported, so isolate it before any test imports modal.
_CLIENT_HOME = tempfile.mkdtemp(prefix="modal-client-")
os.environ["MODAL_CONFIG_PATH"] = os.path.join(_CLIENT_HOME, "modal.toml")
for _name in ("MODAL_PROFILE", "MODAL_ENVIRONMENT", "MODAL_SANDBOX_V2", "MODAL_IMAGE_BUILDER_VERSION"):
    os.environ.pop(_name, None)


class StandIn:
    """A stand-in process and helpers for its control server."""

    def __init__(self, process: subprocess.Popen, ports: dict, log_path: str):
        self.process = process
        self.ports = ports
        self.log_path = log_path
        self.api_url = ports["api_url"]
        self.control_url = ports["control_url"]

    def _request(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.control_url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None

    def state(self) -> dict:
        return self._request("GET", "/state")

    def sandbox_state(self, sandbox_id: str) -> dict:
        found = [s for s in self.state()["sandboxes"] if s["id"] == sandbox_id]
        assert found, f"the stand-in does not know {sandbox_id}"
        return found[0]

    def add_fault(self, **spec) -> int:
        return self._request("POST", "/faults", spec)["ids"][0]

    def clear_faults(self) -> None:
        self._request("DELETE", "/faults")

    def outcomes(self, method: str) -> dict:
        return self.state()["outcomes"].get(method, {})

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def start_standin(tmp_dir: str, *extra_args: str) -> StandIn:
    """Start a stand-in and wait for its port record on a FIFO (no polling, no sleeps)."""
    fifo = os.path.join(tmp_dir, "ports.fifo")
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    log_path = os.path.join(tmp_dir, "standin.log")
    args = [sys.executable, STANDIN, "--port-file", fifo, "--token-id", TOKEN_ID, "--token-secret", TOKEN_SECRET]
    with open(log_path, "wb") as log:
        process = subprocess.Popen([*args, *extra_args], stdout=log, stderr=subprocess.STDOUT)
    data = b""
    deadline = time.monotonic() + READY_TIMEOUT_SECS
    try:
        while True:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the stand-in did not report its ports within {READY_TIMEOUT_SECS}s")
            ready, _, _ = select.select([reader], [], [], 1.0)
            if ready:
                chunk = os.read(reader, 65536)
                if not chunk and data:
                    break  # the writer closed: the record is complete
                data += chunk
            elif process.poll() is not None:
                with open(log_path) as log:
                    raise RuntimeError(f"the stand-in exited with {process.returncode}:\n{log.read()}")
    finally:
        os.close(reader)
    return StandIn(process, json.loads(data), log_path)


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    # A small list page so that listing more than two sandboxes really pages.
    server = start_standin(str(tmp_path_factory.mktemp("standin")), "--list-page-size", "2")
    os.environ["MODAL_SERVER_URL"] = server.api_url
    os.environ["MODAL_TOKEN_ID"] = TOKEN_ID
    os.environ["MODAL_TOKEN_SECRET"] = TOKEN_SECRET
    yield server
    assert server.stop() == 0, "the stand-in did not exit cleanly on SIGTERM"


@pytest.fixture(autouse=True)
def _no_faults_left(request):
    yield
    if "standin" in request.fixturenames:
        request.getfixturevalue("standin").clear_faults()


@pytest.fixture(params=["v2", "v1"])
def sandbox_mode(request, monkeypatch, standin):
    """Run a test with the client's default V2 sandbox calls and again with MODAL_SANDBOX_V2=0."""
    monkeypatch.setenv("MODAL_SANDBOX_V2", "1" if request.param == "v2" else "0")
    return request.param


@pytest.fixture
def app(standin):
    import modal

    return modal.App.lookup(f"test-{uuid.uuid4().hex[:12]}", create_if_missing=True)


def process_alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie (exited, not yet reaped) counts as dead."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
