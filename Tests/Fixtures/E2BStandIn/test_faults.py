"""Fault injection (`POST /_standin/faults`), checked with plain HTTP and raw sockets, plus how
the official SDK takes a few of them."""

from __future__ import annotations

import http.client
import json
import time

import pytest

from conftest import API_KEY
from connect_wire import envd_headers, frames, raw_exchange, split_response, start_request


def _labelled(standin, label):
    return [s for s in standin.state()["sandboxes"] if s["metadata"].get("suite") == label]


def test_429_with_retry_after_for_the_next_n_matching_requests(standin):
    armed = standin.fault(action="status", status=429, retryAfter=7, path="^/v2/sandboxes$", method="GET", count=2)
    assert armed["remaining"] == 2
    for _ in range(2):
        status, headers, raw = standin.request("GET", "/v2/sandboxes?limit=1")
        assert status == 429
        assert headers["Retry-After"] == "7"
        body = json.loads(raw)
        assert body["code"] == 429 and isinstance(body["message"], str)
    status, _, _ = standin.request("GET", "/v2/sandboxes?limit=1")
    assert status == 200
    assert standin.json("GET", "/_standin/faults", auth=False) == []


@pytest.mark.parametrize("code", [500, 503])
def test_status_fault_answers_before_the_request_runs(standin, label, code):
    standin.fault(action="status", status=code, path="^/v2/sandboxes$", method="POST")
    status, _, raw = standin.request("POST", "/v2/sandboxes", {"templateID": "base", "metadata": {"suite": label}})
    assert status == code
    assert json.loads(raw)["code"] == code
    assert _labelled(standin, label) == []  # the gateway answered; nothing was created


def test_status_fault_with_execute_runs_the_request_and_loses_its_answer(standin, label):
    standin.fault(action="status", status=500, path="^/v2/sandboxes$", method="POST", execute=True)
    status, _, raw = standin.request("POST", "/v2/sandboxes", {"templateID": "base", "metadata": {"suite": label}})
    assert status == 500 and json.loads(raw)["code"] == 500
    assert len(_labelled(standin, label)) == 1


def test_delay_fault_holds_the_answer(standin):
    standin.fault(action="delay", delayMs=400, path="^/v2/sandboxes$")
    began = time.monotonic()
    status, _, _ = standin.request("GET", "/v2/sandboxes")
    assert status == 200
    assert time.monotonic() - began >= 0.4


def test_drop_fault_cuts_the_connection_mid_answer(standin, label):
    standin.fault(action="drop", path="^/v2/sandboxes$", method="POST")
    body = json.dumps({"templateID": "base", "metadata": {"suite": label}}).encode()
    request = (b"POST /v2/sandboxes HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + API_KEY.encode()
               + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    raw = raw_exchange(standin.api_port, request)
    assert raw, "some of the answer arrives before the cut"
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if sep:  # the headers made it: the body is shorter than announced
        _, headers, received = split_response(raw)
        assert len(received) < int(headers["content-length"])
    # The create itself happened: only its answer was lost.
    assert len(_labelled(standin, label)) == 1


def test_malformed_fault_garbles_the_json_body(standin):
    sandbox = standin.create()
    standin.fault(action="malformed", path="^/sandboxes/", method="GET")
    status, headers, raw = standin.request("GET", f"/sandboxes/{sandbox['sandboxID']}")
    assert status == 200 and headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        json.loads(raw)
    standin.request("DELETE", f"/sandboxes/{sandbox['sandboxID']}")


def test_truncate_fault_leaves_out_the_connect_end_frame(standin):
    sandbox = standin.create()
    standin.fault(action="truncate", server="envd", path="^/process\\.Process/Start$")
    status, headers, raw = standin.request("POST", "/process.Process/Start", start_request("echo hi"),
                                           envd_headers(sandbox), server="envd")
    assert status == 200 and headers["Content-Type"] == "application/connect+json"
    got = frames(raw)  # whole envelopes, ending cleanly at HTTP level ...
    assert any("end" in m.get("event", {}) for _, m in got)
    assert all(flags & 0x02 == 0 for flags, _ in got)  # ... but without the end-of-stream one
    standin.request("DELETE", f"/sandboxes/{sandbox['sandboxID']}")


def test_drop_fault_on_a_stream_cuts_it_after_the_first_envelope(standin):
    sandbox = standin.create()
    standin.fault(action="drop", server="envd", path="^/process\\.Process/Start$")
    body = start_request("echo hi")
    head = "".join(f"{k}: {v}\r\n" for k, v in envd_headers(sandbox).items())
    request = (f"POST /process.Process/Start HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    raw = raw_exchange(standin.envd_port, request)
    status, headers, received = split_response(raw)
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    assert not received.endswith(b"0\r\n\r\n")  # the chunked body never ends
    standin.request("DELETE", f"/sandboxes/{sandbox['sandboxID']}")


def test_faults_match_server_and_method(standin):
    standin.fault(action="status", status=500, server="envd", path=".")
    standin.fault(action="status", status=500, method="DELETE", path="^/v2/sandboxes$")
    assert standin.request("GET", "/v2/sandboxes")[0] == 200  # neither the server nor the method matches
    assert len(standin.json("GET", "/_standin/faults", auth=False)) == 2
    standin.clear_faults()
    assert standin.json("GET", "/_standin/faults", auth=False) == []


@pytest.mark.parametrize("spec", [
    {"action": "explode", "path": "."},
    {"action": "status", "path": "("},
    {"action": "status", "path": ".", "status": 200},
    {"action": "delay", "path": ".", "delayMs": -1},
    {"action": "drop", "path": ".", "count": 0},
])
def test_a_bad_fault_description_is_a_400(standin, spec):
    status, _, raw = standin.request("POST", "/_standin/faults", spec, auth=False)
    assert status == 400
    body = json.loads(raw)
    assert body["code"] == 400 and body["message"].endswith(".")


def test_sdk_turns_a_cut_stream_into_an_error(sdk, standin):
    # (A `truncate` fault goes unnoticed by this SDK: it stops reading at the process's end
    # event, before the end-of-stream envelope. A cut connection it does notice.)
    from e2b import SandboxException

    sb = sdk.create()
    standin.fault(action="drop", server="envd", path="^/process\\.Process/Start$")
    with pytest.raises(SandboxException):
        sb.commands.run("echo hi")
    assert sb.commands.run("echo fine").stdout == "fine\n"


def test_sdk_retries_429_then_gives_up(sdk, standin):
    from e2b import RateLimitException, Sandbox

    standin.fault(action="status", status=429, retryAfter=0, path="^/v2/sandboxes$", method="GET", count=50)
    before = standin.state()["calls"].get("GET /v2/sandboxes", 0)
    with pytest.raises(RateLimitException):
        Sandbox.list().next_items()
    tries = standin.state()["calls"]["GET /v2/sandboxes"] - before
    assert tries > 1  # it honoured Retry-After and tried again before giving up


def test_http_client_with_keep_alive_survives_an_injected_error(standin):
    # A fault answer leaves the connection usable for the next request (body drained).
    standin.fault(action="status", status=503, path="^/v2/sandboxes$", method="POST")
    conn = http.client.HTTPConnection("127.0.0.1", standin.api_port, timeout=30)
    try:
        headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}
        conn.request("POST", "/v2/sandboxes", body=b'{"templateID": "base"}', headers=headers)
        first = conn.getresponse()
        first.read()
        assert first.status == 503
        conn.request("GET", "/v2/sandboxes?limit=1", headers=headers)
        second = conn.getresponse()
        second.read()
        assert second.status == 200
    finally:
        conn.close()


def test_malformed_fault_on_a_stream_garbles_its_first_envelope(standin):
    sandbox = standin.create()
    standin.fault(action="malformed", server="envd", path="^/process\\.Process/Start$")
    status, _, raw = standin.request("POST", "/process.Process/Start", start_request("echo hi"),
                                     envd_headers(sandbox), server="envd")
    assert status == 200
    with pytest.raises(ValueError):
        frames(raw)
    standin.request("DELETE", f"/sandboxes/{sandbox['sandboxID']}")


def test_executed_status_fault_on_a_stream_runs_the_command_and_loses_the_answer(standin):
    sandbox = standin.create()
    standin.fault(action="status", status=500, execute=True, server="envd", path="^/process\\.Process/Start$")
    status, _, raw = standin.request("POST", "/process.Process/Start", start_request("echo ran > proof.txt"),
                                     envd_headers(sandbox), server="envd")
    assert status == 500 and json.loads(raw)["code"] == 500
    # The command ran: wait for it through a second command, then read its file.
    status, _, raw = standin.request("POST", "/process.Process/Start",
                                     start_request("while [ ! -s proof.txt ]; do :; done; cat proof.txt"),
                                     envd_headers(sandbox), server="envd", timeout=30)
    assert {"event": {"data": {"stdout": "cmFuCg=="}}} in [m for _, m in frames(raw)]  # "ran\n"
    standin.request("DELETE", f"/sandboxes/{sandbox['sandboxID']}")
