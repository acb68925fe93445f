"""The proof that the stand-in speaks Modal's protocol: Modal's official client (modal==1.6.4) drives
it, in the client's default V2 sandbox mode and again with MODAL_SANDBOX_V2=0 (the V1 calls)."""

import socket
import sys
import time
import uuid

import pytest

from conftest import TOKEN_ID, process_alive


def test_app_lookup_creates_once_and_finds_again(standin):
    import modal

    name = f"lookup-{uuid.uuid4().hex[:8]}"
    first = modal.App.lookup(name, create_if_missing=True)
    again = modal.App.lookup(name)
    assert first.app_id == again.app_id and first.app_id.startswith("ap-")
    with pytest.raises(modal.exception.NotFoundError):
        modal.App.lookup(f"missing-{uuid.uuid4().hex[:8]}")


def test_wrong_token_is_refused(standin):
    import modal

    client = modal.Client.from_credentials(TOKEN_ID, "not-the-secret")
    before = standin.outcomes("AppGetOrCreate").get("UNAUTHENTICATED", 0)
    with pytest.raises(modal.exception.AuthError):
        modal.App.lookup("refused", create_if_missing=True, client=client)
    assert standin.outcomes("AppGetOrCreate").get("UNAUTHENTICATED", 0) == before + 1
    assert not any(a["name"] == "refused" for a in standin.state()["apps"])


def test_create_passes_timeouts_tags_and_env(sandbox_mode, standin, app):
    import modal

    sb = modal.Sandbox.create(
        app=app, timeout=123, idle_timeout=77, tags={"owner": "fidelity"}, env={"GREETING": "hello"}
    )
    try:
        assert (sb.object_id.startswith("sb-") and len(sb.object_id) == 25) == (sandbox_mode == "v1")
        state = standin.sandbox_state(sb.object_id)
        assert state["version"] == sandbox_mode
        assert state["timeout_secs"] == 123 and state["idle_timeout_secs"] == 77
        assert 100 < state["deadline_in_secs"] <= 123
        assert 0 < state["idle_deadline_in_secs"] <= 77
        assert state["tags"] == {"owner": "fidelity"}
        assert state["env_keys"] == ["GREETING"]
        # No command given: the sandbox runs its image's CMD (debian_slim's is a long sleep).
        assert state["entrypoint"][0] == "sleep" and process_alive(state["entrypoint_pid"])
        proc = sb.exec("sh", "-c", 'printf "%s" "$GREETING"')
        assert proc.stdout.read() == "hello"
        assert proc.wait() == 0
    finally:
        sb.terminate()


def test_exec_stdout_stderr_and_exit_codes(sandbox_mode, standin, app):
    import modal

    sb = modal.Sandbox.create(app=app, timeout=60)
    try:
        proc = sb.exec("sh", "-c", "echo out; echo err >&2; exit 7")
        assert proc.stdout.read() == "out\n"
        assert proc.stderr.read() == "err\n"
        assert proc.wait() == 7
        assert sb.exec("true").wait() == 0
        # An exec runs in the sandbox directory, in its own process group.
        proc = sb.exec("sh", "-c", 'pwd; echo $$; ps -o pgid= -p $$')
        cwd, pid, pgid = proc.stdout.read().split()
        assert proc.wait() == 0
        assert cwd == standin.sandbox_state(sb.object_id)["directory"]
        assert pid == pgid
        # A command that does not exist ends like a shell's: 127 and a message on stderr.
        proc = sb.exec("no-such-command-here")
        assert proc.wait() == 127
        assert "no-such-command-here" in proc.stderr.read()
        # Killed by a signal: the client reports 128 + signal.
        assert sb.exec("sh", "-c", "kill -TERM $$").wait() == 128 + 15
    finally:
        sb.terminate()


def test_exec_stdin(sandbox_mode, standin, app):
    import modal

    sb = modal.Sandbox.create(app=app, timeout=60)
    try:
        proc = sb.exec("cat")
        assert proc.poll() is None  # cat waits for stdin's EOF
        proc.stdin.write(b"through stdin\n")
        proc.stdin.write_eof()
        proc.stdin.drain()
        assert proc.stdout.read() == "through stdin\n"
        assert proc.wait() == 0
    finally:
        sb.terminate()


def test_entrypoint_output_and_exit_code(sandbox_mode, standin, app):
    import modal

    sb = modal.Sandbox.create("sh", "-c", "echo from-entrypoint ✓; echo oops >&2; exit 5", app=app, timeout=60)
    assert sb.stdout.read() == "from-entrypoint ✓\n"
    assert sb.stderr.read() == "oops\n"
    sb.wait()
    assert sb.returncode == 5
    assert sb.poll() == 5


def test_set_tags_and_list_by_app_and_tags(sandbox_mode, standin, app):
    import modal

    sandboxes = [modal.Sandbox.create(app=app, timeout=60) for _ in range(3)]
    try:
        sandboxes[0].set_tags({"role": "db", "team": "x"})
        sandboxes[2].set_tags({"role": "db"})
        assert sandboxes[0].get_tags() == {"role": "db", "team": "x"}
        list_call = "SandboxListV2" if sandbox_mode == "v2" else "SandboxList"
        calls_before = standin.state()["calls"].get(list_call, 0)
        listed = [s.object_id for s in modal.Sandbox.list(app_id=app.app_id)]
        # Three sandboxes on pages of two: two pages and the empty one that ends the listing.
        assert standin.state()["calls"][list_call] - calls_before == 3
        assert sorted(listed) == sorted(s.object_id for s in sandboxes)
        tagged = {s.object_id for s in modal.Sandbox.list(app_id=app.app_id, tags={"role": "db"})}
        assert tagged == {sandboxes[0].object_id, sandboxes[2].object_id}
        both = {s.object_id for s in modal.Sandbox.list(app_id=app.app_id, tags={"role": "db", "team": "x"})}
        assert both == {sandboxes[0].object_id}
        sandboxes[1].terminate()
        sandboxes[1].wait(raise_on_termination=False)
        remaining = {s.object_id for s in modal.Sandbox.list(app_id=app.app_id)}
        assert remaining == {sandboxes[0].object_id, sandboxes[2].object_id}
    finally:
        for sb in sandboxes:
            sb.terminate()


def test_snapshot_filesystem_then_create_from_image(sandbox_mode, standin, app):
    import modal

    sb = modal.Sandbox.create(app=app, timeout=60)
    try:
        assert sb.exec("sh", "-c", "mkdir -p data && echo kept > data/marker.txt").wait() == 0
        image = sb.snapshot_filesystem()
        assert image.object_id.startswith("im-")
        assert sb.exec("sh", "-c", "echo changed > data/marker.txt").wait() == 0
    finally:
        sb.terminate()
    restored = modal.Sandbox.create(app=app, image=image, timeout=60)
    try:
        proc = restored.exec("cat", "data/marker.txt")
        assert proc.stdout.read() == "kept\n"
        assert proc.wait() == 0
    finally:
        restored.terminate()


def test_legacy_snapshot_fs_call_v1(standin, app, monkeypatch):
    import modal

    # V1 handles take a filesystem snapshot through SandboxSnapshotFs when asked to.
    monkeypatch.setenv("MODAL_SANDBOX_V2", "0")
    monkeypatch.setenv("MODAL_USE_LEGACY_FILESYSTEM_SNAPSHOT", "1")
    before = standin.state()["calls"].get("SandboxSnapshotFs", 0)
    sb = modal.Sandbox.create(app=app, timeout=60)
    try:
        assert sb.exec("sh", "-c", "echo legacy > marker.txt").wait() == 0
        image = sb.snapshot_filesystem()
    finally:
        sb.terminate()
    assert standin.state()["calls"]["SandboxSnapshotFs"] == before + 1
    restored = modal.Sandbox.create(app=app, image=image, timeout=60)
    try:
        assert restored.exec("cat", "marker.txt").stdout.read() == "legacy\n"
    finally:
        restored.terminate()


def test_terminate_then_wait_returns_137(sandbox_mode, standin, app):
    import modal

    sb = modal.Sandbox.create("sleep", "300", app=app, timeout=60)
    exec_proc = sb.exec("sleep", "300")
    state = standin.sandbox_state(sb.object_id)
    pids = [state["entrypoint_pid"], *(e["pid"] for e in state["execs"])]
    assert all(process_alive(p) for p in pids)
    sb.terminate()
    sb.wait(raise_on_termination=False)
    assert sb.returncode == 137
    assert exec_proc.wait() == 128 + 9
    assert standin.sandbox_state(sb.object_id)["result"]["status"] == "GENERIC_STATUS_TERMINATED"
    assert not any(process_alive(p) for p in pids)
    with pytest.raises(modal.exception.SandboxTerminatedError):
        sb.wait()


def test_sandbox_timeout_ends_it_on_its_own(sandbox_mode, standin, app):
    import modal

    started = time.monotonic()
    sb = modal.Sandbox.create("sleep", "300", app=app, timeout=2)
    pid = standin.sandbox_state(sb.object_id)["entrypoint_pid"]
    with pytest.raises(modal.exception.SandboxTimeoutError):
        sb.wait()
    assert time.monotonic() - started >= 1.9
    assert sb.returncode == 124
    assert standin.sandbox_state(sb.object_id)["result"]["status"] == "GENERIC_STATUS_TIMEOUT"
    assert not process_alive(pid)


def test_idle_timeout_waits_for_running_execs(sandbox_mode, standin, app):
    import modal

    sb = modal.Sandbox.create(app=app, timeout=60, idle_timeout=2)
    # The exec outlives the idle timeout; a sandbox with a running exec is not idle, and its end
    # starts the idle time again (2 s from then: ample for the poll).
    assert sb.exec("sleep", "2.5").wait() == 0
    assert sb.poll() is None
    sb.wait()
    state = standin.sandbox_state(sb.object_id)
    assert state["result"]["status"] == "GENERIC_STATUS_IDLE_TIMEOUT"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ECHO_SERVER = """
import socket, sys
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen(4)
print("ready", flush=True)
while True:
    conn, _ = srv.accept()
    conn.sendall(b"echo:" + conn.recv(1024)); conn.close()
"""


@pytest.mark.parametrize("unencrypted", [False, True])
def test_tunnel_forwards_to_the_sandbox_port(sandbox_mode, standin, app, unencrypted):
    import modal

    port = _free_port()
    ports = {"unencrypted_ports": [port]} if unencrypted else {"encrypted_ports": [port]}
    sb = modal.Sandbox.create(sys.executable, "-c", ECHO_SERVER, str(port), app=app, timeout=60, **ports)
    try:
        assert next(iter(sb.stdout)) == "ready\n"  # the server listens: a handshake, not a sleep
        tunnel = sb.tunnels()[port]
        host, tport = (tunnel.unencrypted_host, tunnel.unencrypted_port) if unencrypted else (tunnel.host, tunnel.port)
        assert host == "127.0.0.1" and tport != port
        with socket.create_connection((host, tport), timeout=10) as conn:
            conn.sendall(b"ping")
            assert conn.recv(1024) == b"echo:ping"
        assert standin.sandbox_state(sb.object_id)["tunnels"][0]["connections"] == 1
    finally:
        sb.terminate()


def test_exec_on_a_finished_sandbox_is_refused(sandbox_mode, standin, app):
    import modal

    sb = modal.Sandbox.create("true", app=app, timeout=60)
    sb.wait()
    with pytest.raises((modal.exception.ConflictError, modal.exception.NotFoundError)):
        sb.exec("true")
