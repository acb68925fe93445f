"""Fault injection through the control server, observed through Modal's official client: what it
retries, what it surfaces, and that a dropped stream or a lost response is recovered correctly."""

import json
import time
import urllib.error
import urllib.request

import pytest


def test_unavailable_is_retried_by_the_client(standin):
    import modal

    before = standin.outcomes("AppGetOrCreate")
    standin.add_fault(method="AppGetOrCreate", action="unavailable", count=2)
    modal.App.lookup("retried-app", create_if_missing=True)
    after = standin.outcomes("AppGetOrCreate")
    assert after["UNAVAILABLE"] - before.get("UNAVAILABLE", 0) == 2
    assert after["OK"] - before.get("OK", 0) == 1


def test_unavailable_beyond_the_retry_budget_surfaces(standin):
    import modal

    before = standin.outcomes("AppGetOrCreate").get("UNAVAILABLE", 0)
    standin.add_fault(method="AppGetOrCreate", action="unavailable", count=50, message="Maintenance.")
    with pytest.raises(modal.exception.ServiceError, match="Maintenance"):
        modal.App.lookup("never-created", create_if_missing=True)
    # The client's default budget: the call and three retries.
    assert standin.outcomes("AppGetOrCreate")["UNAVAILABLE"] - before == 4
    fault = standin.state()["faults"][0]
    assert fault["fired"] == 4 and fault["remaining"] == 46


def test_resource_exhausted_surfaces_without_a_retry_policy(sandbox_mode, standin, app):
    import modal

    standin.add_fault(method="SandboxCreate(V2)?", action="resource_exhausted", message="Quota reached.")
    with pytest.raises(modal.exception.ResourceExhaustedError, match="Quota reached"):
        modal.Sandbox.create(app=app, timeout=30)


def test_resource_exhausted_with_a_retry_policy_is_retried_after_it(standin):
    import modal

    standin.add_fault(method="AppGetOrCreate", action="resource_exhausted", retry_after_secs=0.3)
    started = time.monotonic()
    modal.App.lookup("throttled-app", create_if_missing=True)
    # The client read the RPCRetryPolicy detail and waited as told before asking again.
    assert time.monotonic() - started >= 0.3
    assert standin.outcomes("AppGetOrCreate")["RESOURCE_EXHAUSTED"] >= 1


def test_injected_unauthenticated_is_an_auth_error(standin):
    import modal

    standin.add_fault(method="AppGetOrCreate", action="unauthenticated")
    with pytest.raises(modal.exception.AuthError):
        modal.App.lookup("unauthenticated-app", create_if_missing=True)


def test_delay_slows_the_call(standin):
    import modal

    standin.add_fault(method="AppGetOrCreate", action="delay", delay_ms=400)
    started = time.monotonic()
    modal.App.lookup("slow-app", create_if_missing=True)
    assert time.monotonic() - started >= 0.4


def test_router_unauthenticated_makes_the_client_retry(sandbox_mode, standin, app):
    import modal

    sb = modal.Sandbox.create(app=app, timeout=60)
    try:
        before = standin.outcomes("TaskExecStart")
        standin.add_fault(method="TaskExecStart", action="unauthenticated")
        assert sb.exec("true").wait() == 0
        after = standin.outcomes("TaskExecStart")
        assert after.get("UNAUTHENTICATED", 0) - before.get("UNAUTHENTICATED", 0) == 1
        assert after["OK"] - before.get("OK", 0) == 1
    finally:
        sb.terminate()


def test_stdio_stream_dropped_mid_output_loses_and_repeats_nothing(sandbox_mode, standin, app):
    import modal

    sb = modal.Sandbox.create(app=app, timeout=60)
    try:
        expected = "".join(f"{i}\n" for i in range(1, 40001))  # ~230 KB: several 64 KiB messages
        before = standin.outcomes("TaskExecStdioRead").get("DROPPED", 0)
        standin.add_fault(method="TaskExecStdioRead", action="drop", after_messages=1)
        proc = sb.exec("seq", "1", "40000")
        assert proc.stdout.read() == expected  # nothing lost, nothing repeated
        assert proc.wait() == 0
        assert standin.outcomes("TaskExecStdioRead")["DROPPED"] - before == 1
    finally:
        sb.terminate()


def test_stdio_stream_dropped_after_output_was_read_resumes_past_it(sandbox_mode, standin, app):
    import modal

    sb = modal.Sandbox.create(app=app, timeout=60)
    try:
        standin.add_fault(method="TaskExecStdioRead", action="drop", after_messages=1)
        proc = sb.exec("sh", "-c", "echo first; read reply; echo second $reply")
        lines = iter(proc.stdout)
        # The client has this line, so its offset is past it before the stream drops.
        assert next(lines) == "first\n"
        proc.stdin.write(b"go\n")
        proc.stdin.drain()
        # The stand-in drops the stream instead of sending "second"; the client reconnects at its
        # offset and gets only what it had not seen.
        assert list(lines) == ["second go\n"]
        assert proc.wait() == 0
        assert standin.state()["faults"][0]["fired"] == 1
    finally:
        sb.terminate()


def test_lost_exec_start_answer_is_retried_without_a_second_exec(sandbox_mode, standin, app):
    import modal

    sb = modal.Sandbox.create(app=app, timeout=60)
    try:
        standin.add_fault(method="TaskExecStart", action="drop")  # the exec starts; its answer is lost
        proc = sb.exec("sh", "-c", "echo once >> runs.txt")
        assert proc.wait() == 0
        assert len(standin.sandbox_state(sb.object_id)["execs"]) == 1
        assert sb.exec("cat", "runs.txt").stdout.read() == "once\n"
    finally:
        sb.terminate()


def _control(standin, method: str, path: str, body: bytes | None = None, headers=None):
    req = urllib.request.Request(standin.control_url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.parametrize(
    "spec, reason",
    [
        ({"method": "AppGetOrCreate", "action": "explode"}, "`action` must be one of"),
        ({"method": "(", "action": "unavailable"}, "not a valid regular expression"),
        ({"action": "unavailable"}, "`method` must be"),
        ({"method": "X", "action": "delay"}, "needs `delay_ms`"),
        ({"method": "X", "action": "unavailable", "count": 0}, "`count` must be"),
        ({"method": "X", "action": "error", "status": "OK"}, "`status` must name"),
    ],
)
def test_control_refuses_bad_fault_specs(standin, spec, reason):
    status, body = _control(standin, "POST", "/faults", json.dumps(spec).encode())
    assert status == 400
    assert reason in json.loads(body)["error"]
    assert standin.state()["faults"] == []


def test_control_http_edges(standin):
    assert _control(standin, "POST", "/faults", b"{not json")[0] == 400
    assert _control(standin, "GET", "/nowhere")[0] == 404
    assert _control(standin, "POST", "/faults", b"x" * (64 * 1024 + 1))[0] == 413
    assert _control(standin, "GET", "/healthz") == (200, b"ok\n")
    status, body = _control(
        standin,
        "POST",
        "/faults",
        json.dumps([{"method": "A", "action": "drop"}, {"method": "B", "action": "error", "status": "INTERNAL"}]).encode(),
    )
    assert status == 201 and len(json.loads(body)["ids"]) == 2
    listed = json.loads(_control(standin, "GET", "/faults")[1])
    assert [(f["method"], f["action"], f["status"]) for f in listed] == [("A", "drop", None), ("B", "error", "INTERNAL")]
    assert _control(standin, "DELETE", "/faults")[0] == 204
    assert json.loads(_control(standin, "GET", "/faults")[1]) == []
