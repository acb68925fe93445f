"""The stand-in at the wire: UNIMPLEMENTED for everything it does not serve, auth rules of both
services, bounded requests, and a clean SIGTERM that leaves no sandbox process behind."""

import asyncio
import base64
import json
import os
import time

import grpclib.client
import pytest
from grpclib import GRPCError, Status

from api_sandboxes import SandboxCalls
from api_service import ApiService
from conftest import TOKEN_ID, TOKEN_SECRET, process_alive, start_standin
from modal_proto import api_grpc, api_pb2, task_command_router_grpc, task_command_router_pb2 as sr
from router_service import RouterService

AUTH = {"x-modal-token-id": TOKEN_ID, "x-modal-token-secret": TOKEN_SECRET}

SERVED_API = {
    "ClientHello", "AuthTokenGet", "EnvironmentGetOrCreate", "AppGetOrCreate", "SecretGetOrCreate",
    "ImageGetOrCreate", "ImageJoinStreaming", "ImageFromId",
    "SandboxCreate", "SandboxCreateV2", "SandboxGetTaskId", "SandboxGetTaskIdV2",
    "SandboxGetCommandRouterAccess", "TaskGetCommandRouterAccess", "SandboxWait", "SandboxWaitV2",
    "SandboxTerminate", "SandboxTerminateV2", "SandboxList", "SandboxListV2",
    "SandboxTagsSet", "SandboxTagsSetV2", "SandboxTagsGet", "SandboxTagsGetV2",
    "SandboxGetTunnels", "SandboxGetTunnelsV2", "SandboxSnapshotFs", "SandboxGetLogs",
    "SandboxGetFromName", "SandboxGetFromNameV2",
}  # fmt: skip
SERVED_ROUTER = {
    "TaskExecStart", "TaskExecStdioRead", "TaskExecStdinWrite", "TaskExecStdinStatus", "TaskExecWait",
    "TaskExecPoll", "TaskSnapshotFilesystem", "SandboxStdioReadV2", "SandboxStdinWriteV2",
}  # fmt: skip


def test_served_methods_are_exactly_the_listed_ones():
    api_names = set(api_grpc.ModalClientBase.__abstractmethods__)
    assert {n for n in api_names if any(n in vars(c) for c in (ApiService, SandboxCalls))} == SERVED_API
    router_names = set(task_command_router_grpc.TaskCommandRouterBase.__abstractmethods__)
    assert {n for n in router_names if n in vars(RouterService)} == SERVED_ROUTER


async def _status(channel, path: str, handler, metadata) -> Status:
    """Send an empty request to any method, whatever its cardinality, and return the status."""
    async with channel.request(
        path, handler.cardinality, handler.request_type, handler.reply_type, metadata=metadata, timeout=10
    ) as stream:
        await stream.send_message(handler.request_type(), end=True)
        try:
            await stream.recv_initial_metadata()
            async for _ in stream:
                pass
            await stream.recv_trailing_metadata()
        except GRPCError as exc:
            return exc.status
    return Status.OK


def _router_jwt(standin, sandbox_id: str) -> tuple[str, str]:
    async def fetch():
        channel = grpclib.client.Channel("127.0.0.1", standin.ports["api"])
        try:
            stub = api_grpc.ModalClientStub(channel)
            task = await stub.SandboxGetTaskId(api_pb2.SandboxGetTaskIdRequest(sandbox_id=sandbox_id), metadata=AUTH)
            access = await stub.TaskGetCommandRouterAccess(
                api_pb2.TaskGetCommandRouterAccessRequest(task_id=task.task_id), metadata=AUTH
            )
            return task.task_id, access.jwt
        finally:
            channel.close()

    return asyncio.run(fetch())


def test_every_other_method_answers_unimplemented(standin, app):
    import modal

    sb = modal.Sandbox.create(app=app, timeout=60)
    _, jwt = _router_jwt(standin, sb.object_id)

    async def check():
        channel = grpclib.client.Channel("127.0.0.1", standin.ports["api"])
        try:
            stub = api_grpc.ModalClientStub(channel)
            token = (await stub.AuthTokenGet(api_pb2.AuthTokenGetRequest(), metadata=AUTH)).token
        finally:
            channel.close()
        results = {}
        for port, base, served, metadata in (
            (standin.ports["api"], api_grpc.ModalClientBase, SERVED_API, {**AUTH, "x-modal-auth-token": token}),
            (standin.ports["router"], task_command_router_grpc.TaskCommandRouterBase, SERVED_ROUTER,
             {"authorization": f"Bearer {jwt}"}),
        ):  # fmt: skip
            channel = grpclib.client.Channel("127.0.0.1", port)
            try:
                mapping = base.__mapping__(ApiService(None) if base is api_grpc.ModalClientBase else RouterService(None))
                for path, handler in mapping.items():
                    if path.rsplit("/", 1)[1] not in served:
                        results[path] = await _status(channel, path, handler, metadata)
            finally:
                channel.close()
        return results

    try:
        results = asyncio.run(check())
    finally:
        sb.terminate()
    assert len(results) == 285 - len(SERVED_API) + 23 - len(SERVED_ROUTER)
    assert {p for p, s in results.items() if s != Status.UNIMPLEMENTED} == set()


def test_v2_calls_need_the_auth_token(standin):
    async def run():
        channel = grpclib.client.Channel("127.0.0.1", standin.ports["api"])
        try:
            stub = api_grpc.ModalClientStub(channel)
            with pytest.raises(GRPCError) as missing:
                await stub.SandboxListV2(api_pb2.SandboxListRequest(), metadata=AUTH)
            token = (await stub.AuthTokenGet(api_pb2.AuthTokenGetRequest(), metadata=AUTH)).token
            with pytest.raises(GRPCError) as forged:
                await stub.SandboxListV2(api_pb2.SandboxListRequest(), metadata={**AUTH, "x-modal-auth-token": token + "x"})
            await stub.SandboxListV2(api_pb2.SandboxListRequest(), metadata={**AUTH, "x-modal-auth-token": token})
            return missing.value.status, forged.value.status, token
        finally:
            channel.close()

    missing, forged, token = asyncio.run(run())
    assert missing == forged == Status.UNAUTHENTICATED
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload["exp"] > time.time() + 60


def test_router_token_is_bound_to_its_task(standin, app):
    import modal

    first, second = modal.Sandbox.create(app=app, timeout=60), modal.Sandbox.create(app=app, timeout=60)
    _, jwt_first = _router_jwt(standin, first.object_id)
    task_second, _ = _router_jwt(standin, second.object_id)

    async def start(metadata):
        channel = grpclib.client.Channel("127.0.0.1", standin.ports["router"])
        try:
            stub = task_command_router_grpc.TaskCommandRouterStub(channel)
            req = sr.TaskExecStartRequest(task_id=task_second, exec_id="e1", command_args=["true"])
            with pytest.raises(GRPCError) as refused:
                await stub.TaskExecStart(req, metadata=metadata)
            return refused.value.status
        finally:
            channel.close()

    try:
        assert asyncio.run(start({"authorization": f"Bearer {jwt_first}"})) == Status.PERMISSION_DENIED
        assert asyncio.run(start({})) == Status.UNAUTHENTICATED
        assert asyncio.run(start({"authorization": "Bearer not.a.jwt"})) == Status.UNAUTHENTICATED
        assert standin.sandbox_state(second.object_id)["execs"] == []
    finally:
        first.terminate()
        second.terminate()


def test_oversized_request_is_refused(standin, app):
    import modal

    sb = modal.Sandbox.create(app=app, timeout=60)
    try:
        with pytest.raises(modal.exception.ResourceExhaustedError, match="at most"):
            sb.set_tags({"big": "x" * (5 * 1024 * 1024)})
        assert sb.get_tags() == {}
    finally:
        sb.terminate()


def _members_of(groups: set[int]) -> list[int]:
    """The live processes whose process group is one of `groups`."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        if int(fields[2]) in groups and fields[0] != "Z":
            members.append(int(entry))
    return members


def test_sigterm_kills_every_sandbox_process(tmp_path, monkeypatch):
    import modal

    server = start_standin(str(tmp_path))
    try:
        monkeypatch.setenv("MODAL_SERVER_URL", server.api_url)
        client = modal.Client.from_credentials(TOKEN_ID, TOKEN_SECRET)
        app = modal.App.lookup("sigterm", create_if_missing=True, client=client)
        # A fresh image object: the module-level default image is already hydrated by the session's stand-in.
        image = modal.Image.from_registry("debian:bookworm-slim")
        sb = modal.Sandbox.create(app=app, image=image, timeout=600)
        sb.exec("sh", "-c", "sleep 600 & sleep 600")
        state = server.sandbox_state(sb.object_id)
        groups = {state["entrypoint_pid"], *(e["pid"] for e in state["execs"])}
        pids = _members_of(groups)
        assert len(pids) == 4  # the entrypoint, the exec's shell and its two sleeps
        assert all(process_alive(p) for p in pids)
        data_dir = server.ports["data_dir"]
        assert os.path.isdir(data_dir)
    finally:
        code = server.stop()
    assert code == 0
    assert not any(process_alive(p) for p in pids)
    assert not os.path.exists(data_dir)


@pytest.mark.parametrize("mode", ["v2", "v1"])
def test_expired_tokens_are_refused_and_refreshed(tmp_path, monkeypatch, mode):
    import modal

    server = start_standin(str(tmp_path), "--router-token-ttl", "2", "--auth-token-ttl", "2")
    try:
        monkeypatch.setenv("MODAL_SERVER_URL", server.api_url)
        monkeypatch.setenv("MODAL_SANDBOX_V2", "1" if mode == "v2" else "0")
        client = modal.Client.from_credentials(TOKEN_ID, TOKEN_SECRET)
        app = modal.App.lookup("expiry", create_if_missing=True, client=client)
        sb = modal.Sandbox.create(app=app, image=modal.Image.from_registry("debian:bookworm-slim"), timeout=60)
        # The exec's own run time outlasts both tokens (they live 2 s).
        assert sb.exec("sleep", "2.5").wait() == 0
        assert sb.exec("true").wait() == 0
        state = server.state()
        assert state["outcomes"]["TaskExecStart"] == {"OK": 2, "UNAUTHENTICATED": 1}
        access = "SandboxGetCommandRouterAccess" if mode == "v2" else "TaskGetCommandRouterAccess"
        assert state["outcomes"][access]["OK"] >= 1
        if mode == "v2":
            assert state["calls"]["AuthTokenGet"] >= 2
        sb.terminate()
    finally:
        assert server.stop() == 0
