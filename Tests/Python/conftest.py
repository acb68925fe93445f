"""Fixtures that run a real `sandboxer serve` process for the HTTP API tests.

Every server listens on 127.0.0.1:0 and is ready when it prints `sandboxer: serving on ADDR` on
stderr (a handshake, never a sleep). A reader thread drains stderr for the whole run (the access log
goes there too, and a full pipe would stall the server). Teardown sends SIGTERM and asserts exit 0.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("SANDBOXER_BUILD_DIR", ROOT / ".build" / "debug"))
SANDBOXER = BUILD_DIR / "sandboxer"
TEST_PLUGIN = BUILD_DIR / "libSandboxerTestPlugin.so"
OPENAPI_YAML = ROOT / "docs" / "openapi.yaml"

READY = re.compile(r"^sandboxer: serving on (\S+) ")
# Bounds for handshakes, not delays: how long a healthy process may take to get there.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0

# The tokens the auth variant configures: name -> (role, token).
TOKENS = {
    "ops": ("operator", "op-token-0123456789"),
    "alice": ("consumer", "alice-token-0123456789"),
    "bob": ("consumer", "bob-token-0123456789"),
}

IS_ROOT = os.geteuid() == 0
HAS_BUSYBOX = Path("/bin/busybox").exists()
needs_localvm = pytest.mark.skipif(not (IS_ROOT and HAS_BUSYBOX),
                                   reason="LocalVM sandboxes need root and /bin/busybox")


def bearer(name: str) -> dict[str, str]:
    """The Authorization header for one of TOKENS."""
    return {"Authorization": f"Bearer {TOKENS[name][1]}"}


def fake_config(tmp: Path, *, tokens: bool = False, plugin_extra: str = "") -> str:
    """A config using the file-backed TestPlugin; two profiles open to every consumer, optionally the three tokens."""
    state = tmp / "fake"
    state.mkdir(parents=True, exist_ok=True)
    text = f"""\
data_dir: {tmp / 'data'}
backends:
  fake:
    plugin: {TEST_PLUGIN}
    config:
      state_dir: {state}
{plugin_extra}profiles:
  default:
    backend: fake
    ttl: {{default: 1h, max: 24h}}
    consumer: "*"
  short:
    backend: fake
    ttl: {{default: 10m, max: 1h}}
    consumer: "*"
"""
    if tokens:
        text += "server:\n  tokens:\n"
        for name, (role, token) in TOKENS.items():
            digest = hashlib.sha256(token.encode()).hexdigest()
            text += f"    - {{name: {name}, role: {role}, sha256: {digest}}}\n"
    return text


@dataclass
class Server:
    """One running `sandboxer serve`."""

    proc: subprocess.Popen
    home: Path
    lines: list[str] = field(default_factory=list)
    address: str | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def host(self) -> str:
        return self.address.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            m = READY.match(line)
            if m and self.address is None:
                self.address = m.group(1)
                self.ready.set()
        self.ready.set()  # EOF: the process is gone; wake the waiter so it can report why

    def stderr_text(self) -> str:
        return "\n".join(self.lines)

    def terminate(self) -> int:
        """SIGTERM, then wait for the exit code (killing only after the bound)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"sandboxer serve did not exit within {STOP_TIMEOUT}s of SIGTERM")
        if self.reader is not None:
            self.reader.join(timeout=STOP_TIMEOUT)
        return rc


def server_env(home: Path, config: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOXER_")}
    env["SANDBOXER_HOME"] = str(home)
    if config is not None:
        env["SANDBOXER_CONFIG"] = str(config)
    return env


def start_server(tmp: Path, config_text: str | None, *, listen: str = "127.0.0.1:0",
                 env: dict[str, str] | None = None) -> Server:
    """Starts `sandboxer serve` and returns once it has printed its listening address. `env` adds
    variables after the inherited SANDBOXER_* ones are dropped (e.g. a SANDBOXER_SECRET_*)."""
    if not SANDBOXER.exists():
        pytest.fail(f"{SANDBOXER} is missing: run `swift build` first (scripts/python-tests.sh does)")
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    config = None
    if config_text is not None:
        config = tmp / "config.yaml"
        config.write_text(config_text)
    proc = subprocess.Popen([str(SANDBOXER), "serve", "--listen", listen],
                            env={**server_env(home, config), **(env or {})}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Server(proc=proc, home=home)
    server.reader = threading.Thread(target=server._drain, name="serve-stderr", daemon=True)
    server.reader.start()
    if not server.ready.wait(START_TIMEOUT) or server.address is None:
        proc.kill()
        proc.wait()
        pytest.fail(f"sandboxer serve did not become ready:\n{server.stderr_text()}")
    return server


@pytest.fixture
def serve(tmp_path):
    """A factory: `serve(config_text_or_None)` starts a server; all are stopped (exit 0 asserted) after the test."""
    started: list[Server] = []
    count = 0

    def _serve(config_text: str | None, **kw) -> Server:
        nonlocal count
        count += 1
        s = start_server(tmp_path / f"server{count}", config_text, **kw)
        started.append(s)
        return s

    yield _serve
    failures = []
    for s in started:
        rc = s.terminate()
        if rc != 0:
            failures.append(f"sandboxer serve exited {rc}; stderr:\n{s.stderr_text()[-4000:]}")
    assert not failures, "\n".join(failures)


@pytest.fixture
def fake_server(serve, tmp_path) -> Server:
    """The fake (TestPlugin) backend, no tokens."""
    return serve(fake_config(tmp_path / "cfg"))


@pytest.fixture
def auth_server(serve, tmp_path) -> Server:
    """The fake backend with an operator (ops) and two consumers (alice, bob)."""
    return serve(fake_config(tmp_path / "cfg", tokens=True))


@pytest.fixture
def localvm_server(serve):
    """The embedded default config (LocalVM namespace sandboxes), no tokens."""
    if not (IS_ROOT and HAS_BUSYBOX):
        pytest.skip("LocalVM sandboxes need root and /bin/busybox")
    server = serve(None)
    yield server
    # Sandboxes outlive serve by design, so a test that failed half-way would leave its namespaces
    # and the mounts that keep its tmp dir busy: destroy whatever is still live before serve stops.
    if server.proc.poll() is not None:
        return  # the test stopped serve itself (and owns what it left)
    with requests.Session() as session:
        listed = session.get(f"{server.url}/v1/sandboxes", timeout=30)
        for sandbox in listed.json().get("sandboxes", []) if listed.status_code == 200 else []:
            if sandbox.get("state") in ("provisioning", "ready", "active"):
                session.delete(f"{server.url}/v1/sandboxes/{sandbox['id']}", timeout=60)


@pytest.fixture
def http():
    """A requests session with a bound on every call (a hung server fails the test, not the run)."""
    session = requests.Session()
    original = session.request

    def request(method, url, **kw):
        kw.setdefault("timeout", 30)
        return original(method, url, **kw)

    session.request = request  # type: ignore[method-assign]
    yield session
    session.close()


def assert_error(response: requests.Response, status: int) -> dict:
    """The response is `status` with the JSON error shape; returns the error object."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["message"], body
    return body["error"]


def exec_view(result: dict) -> dict:
    """The text fields of a whole-buffer exec answer (it also carries stdout_b64/stderr_b64 and truncation flags)."""
    return {k: result[k] for k in ("exit_code", "stdout", "stderr", "timed_out")}
