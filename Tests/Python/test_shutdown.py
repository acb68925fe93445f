"""SIGTERM while a request is in flight: the request is finished and answered, then the server exits 0."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time

import pytest
import requests

from conftest import exec_view, SANDBOXER, fake_config, needs_localvm, server_env


class InFlight(threading.Thread):
    """Runs one request on its own thread and keeps the response (or the exception)."""

    def __init__(self, method: str, url: str, **kw):
        super().__init__(daemon=True)
        self.args = (method, url)
        self.kw = {"timeout": 120, **kw}
        self.response: requests.Response | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.response = requests.request(*self.args, **self.kw)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e


def wait_for_state(http, url: str, state: str, bound: float = 30) -> None:
    """Polls the sandbox until it reaches `state`: the handshake that the exec is running."""
    end = time.monotonic() + bound
    while time.monotonic() < end:
        if http.get(url).json()["state"] == state:
            return
    raise AssertionError(f"the sandbox never became {state} within {bound}s")


def cli(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SANDBOXER), *args], env=server_env(server.home, None), capture_output=True,
                          text=True, timeout=60)


@needs_localvm
def test_sigterm_finishes_a_long_exec(localvm_server, http):
    base = localvm_server.url
    r = http.post(f"{base}/v1/sandboxes", json={})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]

    exec_call = InFlight("POST", f"{base}/v1/sandboxes/{sid}/exec",
                         json={"argv": ["sh", "-c", "sleep 2; echo done"]})
    exec_call.start()
    wait_for_state(http, f"{base}/v1/sandboxes/{sid}", "active")
    http.close()  # no idle keep-alive connection of ours should hold the shutdown open
    sent = time.monotonic()
    localvm_server.proc.send_signal(15)

    exec_call.join(timeout=120)
    assert not exec_call.is_alive(), "the exec request never finished"
    assert exec_call.error is None, repr(exec_call.error)
    assert exec_call.response.status_code == 200, exec_call.response.text
    assert exec_view(exec_call.response.json()) == {"exit_code": 0, "stdout": "done\n", "stderr": "", "timed_out": False}

    rc = localvm_server.terminate()
    assert rc == 0, localvm_server.stderr_text()
    assert time.monotonic() - sent < 30
    assert localvm_server.lines[-1] == "sandboxer: stopped", localvm_server.lines[-3:]

    # Stopped means stopped: nothing listens any more.
    with pytest.raises(OSError):
        socket.create_connection((localvm_server.host, localvm_server.port), timeout=5).close()

    # The exec's end was recorded before exit (active -> ready); then clean the sandbox up.
    shown = cli(localvm_server, "show", sid, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["state"] == "ready"
    gone = cli(localvm_server, "destroy", sid, "--json")
    assert gone.returncode == 0, gone.stderr


def test_sigterm_cancels_a_hung_backend_call(serve, tmp_path, http):
    """A backend call that would never return (TestPlugin `hang`): at the shutdown deadline the client
    still gets an answer (503 `shutting_down` with Retry-After and Connection: close, from the server;
    or `unavailable`/`plugin` if the plugin call is cancelled first) and the server exits 0."""
    fifo = tmp_path / "ready.fifo"
    os.mkfifo(fifo)
    extra = f"      hang: [exec]\n      ready_fifo: {fifo}\n"
    server = serve(fake_config(tmp_path / "cfg", plugin_extra=extra))
    r = http.post(f"{server.url}/v1/sandboxes", json={})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]

    call = InFlight("POST", f"{server.url}/v1/sandboxes/{sid}/exec", json={"argv": ["exit", "0"]})
    call.start()
    with open(fifo) as ready:  # blocks until the plugin is inside the hung call
        assert ready.readline().strip(), "the plugin wrote no id to its ready FIFO"
    http.close()
    server.proc.send_signal(15)

    call.join(timeout=120)
    assert not call.is_alive(), "the hung request was never answered"
    assert call.error is None, repr(call.error)
    assert call.response.status_code == 503, call.response.text
    assert call.response.json()["error"]["code"] in ("shutting_down", "unavailable", "plugin")
    assert call.response.headers.get("Connection") == "close"
    if call.response.json()["error"]["code"] == "shutting_down":
        assert call.response.headers.get("Retry-After") == "1"
    assert server.terminate() == 0, server.stderr_text()
