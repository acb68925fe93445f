"""Proof of fidelity: E2B's official Python SDK (e2b==2.63.0, pinned in requirements.txt) works
against the stand-in, configured only through E2B_API_KEY, E2B_API_URL and E2B_SANDBOX_URL."""

from __future__ import annotations

import pytest
from e2b import (
    AuthenticationException,
    CommandExitException,
    NotFoundException,
    Sandbox,
    SandboxException,
    SandboxNotFoundException,
    SandboxNotRunningException,
    SandboxQuery,
    SandboxState,
)

from conftest import process_alive, process_gone


def test_create_with_metadata_and_envs_then_run_commands(sdk, standin, label):
    sb = sdk.create(metadata={"suite": label, "owner": "a b/c"}, envs={"FOO": "from-create"}, timeout=120)
    assert sb.sandbox_id in {s["sandboxID"] for s in standin.state()["sandboxes"]}

    r = sb.commands.run('echo "out:$FOO"; echo oops >&2; printf "%s" "$BAR"', envs={"BAR": "per-command"})
    assert r.exit_code == 0
    assert r.stdout == "out:from-create\nper-command"
    assert r.stderr == "oops\n"

    # The command runs in the sandbox's own directory, which is its HOME.
    r = sb.commands.run('test "$PWD" = "$HOME" && mkdir -p sub && cd sub && pwd')
    assert r.stdout.strip().endswith("/sub")
    assert sb.commands.run("pwd", cwd="sub").stdout.strip().endswith("/sub")

    info = sb.get_info()
    assert info.sandbox_id == sb.sandbox_id
    assert info.metadata == {"suite": label, "owner": "a b/c"}
    assert info.state == SandboxState.RUNNING
    assert info.template_id == "base"

    entry = standin.sandbox_state(sb.sandbox_id)
    assert entry["metadata"] == {"suite": label, "owner": "a b/c"}
    assert entry["envVarNames"] == ["FOO"]  # names only: values may be secrets
    assert sb.is_running()


def test_non_zero_exit_raises_command_exit_exception(sdk):
    sb = sdk.create()
    with pytest.raises(CommandExitException) as info:
        sb.commands.run("echo partial; echo failing >&2; exit 3")
    assert info.value.exit_code == 3
    assert info.value.stdout == "partial\n"
    assert info.value.stderr == "failing\n"
    # A failing command does not break the sandbox.
    assert sb.commands.run("true").exit_code == 0


def test_stdin_send_close_and_stream(sdk):
    sb = sdk.create()
    handle = sb.commands.run("cat; echo done", background=True, stdin=True)
    sb.commands.send_stdin(handle.pid, "first line\n")
    sb.commands.send_stdin(handle.pid, b"second line\n")
    sb.commands.close_stdin(handle.pid)
    assert handle.wait().stdout == "first line\nsecond line\ndone\n"

    handle = sb.commands.run("wc -c", background=True, stdin=True)
    sb.commands.stream_input(handle.pid, ["abc", b"defg"])
    sb.commands.close_stdin(handle.pid)
    assert handle.wait().stdout.strip() == "7"


def test_background_command_list_and_kill(sdk):
    sb = sdk.create()
    handle = sb.commands.run("sleep 300", background=True)
    assert handle.pid in [p.pid for p in sb.commands.list()]
    assert sb.commands.kill(handle.pid) is True
    with pytest.raises(CommandExitException) as info:
        handle.wait()
    assert info.value.exit_code == -1  # killed by a signal, as envd reports it
    assert process_gone(handle.pid)
    assert sb.commands.kill(handle.pid) is False  # no such process any more


def test_set_timeout_overwrites_the_deadline(sdk, standin):
    sb = sdk.create(timeout=60)
    left = standin.sandbox_state(sb.sandbox_id)["secondsLeft"]
    assert 0 < left <= 60

    sb.set_timeout(3600)
    entry = standin.sandbox_state(sb.sandbox_id)
    assert 3500 < entry["secondsLeft"] <= 3600
    assert entry["timeout"] == 3600
    end_long = sb.get_info().end_at

    sb.set_timeout(120)  # overwrite: it may shorten
    assert 0 < standin.sandbox_state(sb.sandbox_id)["secondsLeft"] <= 120
    assert sb.get_info().end_at < end_long


def test_connect_only_lengthens_the_deadline(sdk, standin):
    sb = sdk.create(timeout=600)
    same = Sandbox.connect(sb.sandbox_id, timeout=30)
    assert same.sandbox_id == sb.sandbox_id
    assert standin.sandbox_state(sb.sandbox_id)["secondsLeft"] > 500
    assert same.commands.run("echo through-connect").stdout == "through-connect\n"

    Sandbox.connect(sb.sandbox_id, timeout=1800)
    assert standin.sandbox_state(sb.sandbox_id)["secondsLeft"] > 1700


def test_timeout_kills_the_sandbox_and_all_its_processes(sdk, standin):
    sb = sdk.create(timeout=60)
    # A grandchild left running in the background (its pid printed), and a long foreground one.
    orphan = int(sb.commands.run("sleep 300 >/dev/null 2>&1 & echo $!").stdout)
    handle = sb.commands.run("sleep 301", background=True)
    assert process_alive(orphan) and process_alive(handle.pid)
    sb.set_timeout(1)  # shortened only now, so a slow machine cannot expire it before the setup

    record = standin.wait_gone(sb.sandbox_id)  # long-poll: returns when the reaper killed it
    assert record["reason"] == "timeout"
    assert process_gone(orphan) and process_gone(handle.pid)

    with pytest.raises(SandboxNotFoundException):
        sb.get_info()
    with pytest.raises(SandboxNotRunningException):  # envd answers as E2B's proxy: not found
        sb.commands.run("true")
    assert not sb.is_running()
    assert sb.sandbox_id not in [s.sandbox_id for s in Sandbox.list().next_items()]


def test_list_filters_by_metadata_and_pages(sdk, label):
    mine = {sdk.create(metadata={"suite": label, "odd": "v w&x=y"}).sandbox_id for _ in range(3)}
    sdk.create(metadata={"suite": label + "-other"})

    paginator = Sandbox.list(query=SandboxQuery(metadata={"suite": label, "odd": "v w&x=y"}), limit=2)
    first = paginator.next_items()
    assert len(first) == 2 and paginator.has_next
    second = paginator.next_items()
    assert len(second) == 1 and not paginator.has_next
    assert {s.sandbox_id for s in first + second} == mine
    assert all(s.metadata["suite"] == label for s in first + second)

    running = Sandbox.list(query=SandboxQuery(metadata={"suite": label}, state=[SandboxState.RUNNING]))
    assert {s.sandbox_id for s in running.next_items()} == mine
    paused = Sandbox.list(query=SandboxQuery(metadata={"suite": label}, state=[SandboxState.PAUSED]))
    assert paused.next_items() == []


def test_files_write_and_read(sdk):
    sb = sdk.create()
    info = sb.files.write("notes/hello.txt", "hello from the SDK\n")
    assert info.name == "hello.txt"
    assert sb.files.read("notes/hello.txt") == "hello from the SDK\n"
    assert sb.commands.run("cat notes/hello.txt").stdout == "hello from the SDK\n"

    payload = bytes(range(256)) * 64
    sb.files.write("/home/user/bin.dat", payload, use_octet_stream=True)
    assert bytes(sb.files.read("bin.dat", format="bytes")) == payload
    sb.files.write("zipped.txt", "compressed upload", gzip=True)
    assert sb.files.read("zipped.txt", gzip=True) == "compressed upload"

    with pytest.raises(NotFoundException):
        sb.files.read("no/such/file")


def test_snapshot_then_create_from_it(sdk, standin):
    sb = sdk.create()
    sb.commands.run("mkdir -p data && echo kept > data/state.txt")
    snap = sb.create_snapshot()
    assert snap.snapshot_id.endswith(":default")
    assert snap.snapshot_id in [s.snapshot_id for s in sb.list_snapshots().next_items()]

    restored = sdk.create(template=snap.snapshot_id)
    assert restored.commands.run("cat data/state.txt").stdout == "kept\n"

    assert Sandbox.delete_snapshot(snap.snapshot_id) is True
    assert Sandbox.delete_snapshot(snap.snapshot_id) is False
    with pytest.raises(SandboxException):
        sdk.create(template=snap.snapshot_id)


def test_kill_twice(sdk, standin):
    sb = sdk.create()
    handle = sb.commands.run("sleep 300", background=True)
    assert sb.kill() is True
    assert standin.wait_gone(sb.sandbox_id)["reason"] == "killed"
    assert process_gone(handle.pid)
    assert sb.kill() is False
    assert Sandbox.kill(sb.sandbox_id) is False


def test_killing_a_sandbox_cuts_its_running_command(sdk):
    sb = sdk.create()
    handle = sb.commands.run("sleep 300", background=True)
    sb.kill()
    with pytest.raises(SandboxNotRunningException):  # the stream was cut; the health probe says gone
        handle.wait()


def test_wrong_api_key_raises_the_auth_error(sdk):
    with pytest.raises(AuthenticationException):
        Sandbox.create(api_key="e2b_wrong")
    with pytest.raises(AuthenticationException):
        Sandbox.list(api_key="e2b_wrong").next_items()


def test_idempotency_key_gives_the_same_sandbox(sdk, standin):
    key = f"key-{standin.api_port}-idem"
    first = sdk.create(idempotency_key=key, metadata={"k": "v"})
    again = sdk.create(idempotency_key=key, metadata={"k": "v"})
    assert again.sandbox_id == first.sandbox_id
    assert standin.state()["idempotencyKeys"][key] == first.sandbox_id


def test_sdk_retries_a_503_and_the_idempotency_key_keeps_one_sandbox(sdk, standin, label):
    # The create runs, but its answer is replaced by a 503: the SDK retries with the same key.
    standin.fault(action="status", status=503, retryAfter=0, path="^/v2/sandboxes$", method="POST", execute=True)
    before = standin.state()["calls"].get("POST /v2/sandboxes", 0)
    sb = sdk.create(idempotency_key=f"retry-{label}", metadata={"suite": label})
    assert standin.state()["calls"]["POST /v2/sandboxes"] == before + 2
    listed = Sandbox.list(query=SandboxQuery(metadata={"suite": label})).next_items()
    assert [s.sandbox_id for s in listed] == [sb.sandbox_id]


def test_commands_connect_watches_a_running_process(sdk):
    sb = sdk.create()
    started = sb.commands.run("cat", background=True, stdin=True)
    watcher = sb.commands.connect(started.pid)
    assert watcher.pid == started.pid
    sb.commands.send_stdin(started.pid, "seen by both\n")
    sb.commands.close_stdin(started.pid)
    assert watcher.wait().stdout == "seen by both\n"
    assert started.wait().stdout == "seen by both\n"
