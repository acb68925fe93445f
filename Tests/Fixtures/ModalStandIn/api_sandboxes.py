"""The sandbox calls of the control plane, V1 (`SandboxCreate`, …) and V2 (`SandboxCreateV2`, …).

V1 and V2 differ on the wire only in the create answer (V2 hands out the task id and command router
access at once) and in auth (V2 calls carry `x-modal-auth-token`, checked by the interceptor). Both
families work on any sandbox here.
"""

import asyncio

from google.protobuf import empty_pb2
from grpclib import GRPCError, Status

from modal_proto import api_pb2
from output_buffer import utf8_prefix_length
from sandbox import Sandbox, SandboxSpec
from world import World

GS = api_pb2.GenericResult
MAX_TIMEOUT_SECS = 24 * 3600  # Modal's cap on a sandbox's lifetime
DEFAULT_TIMEOUT_SECS = 300
MAX_LONG_POLL_SECS = 55.0
MAX_TAGS = 64


def _tags(protos) -> dict[str, str]:
    if len(protos) > MAX_TAGS:
        raise GRPCError(Status.INVALID_ARGUMENT, f"A sandbox may have at most {MAX_TAGS} tags.")
    return {t.tag_name: t.tag_value for t in protos}


def _tag_protos(tags: dict[str, str]) -> list[api_pb2.SandboxTag]:
    return [api_pb2.SandboxTag(tag_name=k, tag_value=v) for k, v in tags.items()]


def _poll_secs(timeout: float) -> float:
    return min(max(timeout, 0.0), MAX_LONG_POLL_SECS)


class SandboxCalls:
    """Mixin for ApiService: every sandbox RPC, sharing one implementation per V1/V2 pair."""

    world: World

    # Create

    def _spec(self, app_id: str, d: api_pb2.Sandbox, tags, sources, ephemeral: dict[str, str]) -> SandboxSpec:
        world = self.world
        if not d.image_id:
            raise GRPCError(Status.INVALID_ARGUMENT, "The sandbox definition has no image id.")
        timeout = d.timeout_secs or DEFAULT_TIMEOUT_SECS
        if timeout > MAX_TIMEOUT_SECS:
            raise GRPCError(Status.INVALID_ARGUMENT, f"A sandbox timeout may be at most {MAX_TIMEOUT_SECS} seconds.")
        idle = d.idle_timeout_secs if d.HasField("idle_timeout_secs") else None
        if idle is not None and idle <= 0:
            raise GRPCError(Status.INVALID_ARGUMENT, "An idle timeout must be at least 1 second.")
        env: dict[str, str] = {}
        for secret_id in d.secret_ids:
            env.update(world.secret_env(secret_id))
        for source in sources:
            if source.HasField("env"):
                env.update(source.env.contents)
            elif source.secret_id:
                env.update(world.secret_env(source.secret_id))
        env.update(ephemeral)
        env.update(d.environment_variables.contents)
        ports = []
        for spec in d.open_ports.ports:
            if not 1 <= spec.port <= 65535:
                raise GRPCError(Status.INVALID_ARGUMENT, f"Port {spec.port} is not a valid TCP port.")
            ports.append((spec.port, spec.unencrypted))
        return SandboxSpec(
            app_id=app_id,
            image_id=d.image_id,
            entrypoint=tuple(d.entrypoint_args),
            timeout_secs=timeout,
            idle_timeout_secs=idle,
            workdir=d.workdir if d.HasField("workdir") else None,
            env=env,
            open_ports=ports,
            tags=_tags(tags),
            name=d.name if d.HasField("name") and d.name else None,
        )

    def _metadata(self, sandbox: Sandbox) -> api_pb2.SandboxHandleMetadata:
        metadata = api_pb2.SandboxHandleMetadata(app_id=sandbox.spec.app_id)
        if sandbox.result is not None:
            metadata.result.CopyFrom(sandbox.result.proto())
        return metadata

    async def SandboxCreate(self, stream) -> None:
        req = await stream.recv_message()
        spec = self._spec(req.app_id, req.definition, req.tags, [], {})
        sandbox = await self.world.create_sandbox(False, spec)
        await stream.send_message(api_pb2.SandboxCreateResponse(sandbox_id=sandbox.id, metadata=self._metadata(sandbox)))

    async def SandboxCreateV2(self, stream) -> None:
        req = await stream.recv_message()
        spec = self._spec(req.app_id, req.definition, req.tags, req.secret_sources, dict(req.ephemeral_secrets.contents))
        sandbox = await self.world.create_sandbox(True, spec)
        url, jwt = self.world.router_access(sandbox)
        # Encrypted tunnels are known at create; the client asks for the full set when this is partial.
        tunnels = [self._tunnel_proto(t) for t in sandbox.tunnels if not t.unencrypted]
        await stream.send_message(
            api_pb2.SandboxCreateV2Response(
                sandbox_id=sandbox.id,
                task_id=sandbox.task_id,
                tunnels=tunnels,
                metadata=self._metadata(sandbox),
                command_router_access=api_pb2.CommandRouterAccess(url=url, jwt=jwt),
            )
        )

    # Task and command router access

    async def _get_task_id(self, stream) -> None:
        req = await stream.recv_message()
        sandbox = self.world.sandbox(req.sandbox_id)
        # The task exists from create on, finished or not (the V1 create polls for it at once, and a
        # sandbox like `echo hi` may already be done); a finished one also reports its result.
        resp = api_pb2.SandboxGetTaskIdResponse(task_id=sandbox.task_id)
        if sandbox.result is not None:
            resp.task_result.CopyFrom(sandbox.result.proto())
        await stream.send_message(resp)

    SandboxGetTaskId = _get_task_id
    SandboxGetTaskIdV2 = _get_task_id

    def _running(self, sandbox: Sandbox) -> Sandbox:
        if not sandbox.running:
            raise GRPCError(Status.FAILED_PRECONDITION, f"Sandbox {sandbox.id} has already finished.")
        return sandbox

    async def SandboxGetCommandRouterAccess(self, stream) -> None:
        req = await stream.recv_message()
        target = req.WhichOneof("target")
        if target == "sandbox_id":
            sandbox = self.world.sandbox(req.sandbox_id)
        elif target == "task_id":
            sandbox = self.world.task(req.task_id)
        else:
            raise GRPCError(Status.INVALID_ARGUMENT, "Name a sandbox id or a task id.")
        url, jwt = self.world.router_access(self._running(sandbox))
        await stream.send_message(api_pb2.SandboxGetCommandRouterAccessResponse(url=url, jwt=jwt))

    async def TaskGetCommandRouterAccess(self, stream) -> None:
        req = await stream.recv_message()
        url, jwt = self.world.router_access(self._running(self.world.task(req.task_id)))
        await stream.send_message(api_pb2.TaskGetCommandRouterAccessResponse(url=url, jwt=jwt))

    # Wait, terminate

    async def _wait(self, stream) -> None:
        req = await stream.recv_message()
        sandbox = self.world.sandbox(req.sandbox_id)
        secs = _poll_secs(req.timeout)
        if sandbox.running and secs > 0:
            try:
                await asyncio.wait_for(sandbox.finished.wait(), secs)
            except asyncio.TimeoutError:
                pass
        resp = api_pb2.SandboxWaitResponse(metadata=self._metadata(sandbox))
        if sandbox.result is not None:
            resp.result.CopyFrom(sandbox.result.proto())
        await stream.send_message(resp)

    SandboxWait = _wait
    SandboxWaitV2 = _wait

    async def _terminate(self, stream) -> None:
        req = await stream.recv_message()
        sandbox = self.world.sandbox(req.sandbox_id)
        resp = api_pb2.SandboxTerminateResponse()
        if sandbox.result is not None:
            resp.existing_result.CopyFrom(sandbox.result.proto())
        sandbox.terminate()
        await stream.send_message(resp)

    SandboxTerminate = _terminate
    SandboxTerminateV2 = _terminate

    # List, tags, names

    def _info(self, sandbox: Sandbox) -> api_pb2.SandboxInfo:
        task = api_pb2.TaskInfo(id=sandbox.task_id, started_at=sandbox.created_at, sandbox_id=sandbox.id)
        if sandbox.result is not None:
            task.result.CopyFrom(sandbox.result.proto())
        info = api_pb2.SandboxInfo(
            id=sandbox.id,
            created_at=sandbox.created_at,
            task_info=task,
            app_id=sandbox.spec.app_id,
            tags=_tag_protos(sandbox.tags),
            name=sandbox.spec.name or "",
            image_id=sandbox.spec.image_id,
            timeout_secs=sandbox.spec.timeout_secs,
            tunnels=[self._tunnel_proto(t) for t in sandbox.tunnels] if sandbox.running else [],
            metadata=self._metadata(sandbox),
        )
        if sandbox.spec.idle_timeout_secs is not None:
            info.idle_timeout_secs = sandbox.spec.idle_timeout_secs
        return info

    async def _list(self, stream) -> None:
        req = await stream.recv_message()
        page = self.world.list_page(req.app_id, _tags(req.tags), req.before_timestamp, req.include_finished)
        await stream.send_message(api_pb2.SandboxListResponse(sandboxes=[self._info(s) for s in page]))

    SandboxList = _list
    SandboxListV2 = _list

    async def _tags_set(self, stream) -> None:
        req = await stream.recv_message()
        sandbox = self.world.sandbox(req.sandbox_id)
        sandbox.tags = _tags(req.tags)
        await stream.send_message(empty_pb2.Empty())

    SandboxTagsSet = _tags_set
    SandboxTagsSetV2 = _tags_set

    async def _tags_get(self, stream) -> None:
        req = await stream.recv_message()
        sandbox = self.world.sandbox(req.sandbox_id)
        await stream.send_message(api_pb2.SandboxTagsGetResponse(tags=_tag_protos(sandbox.tags)))

    SandboxTagsGet = _tags_get
    SandboxTagsGetV2 = _tags_get

    async def _from_name(self, stream) -> None:
        req = await stream.recv_message()
        app_id = self.world.app(req.app_name, req.environment_name or "main", create=False)
        named = [s for s in self.world.sandboxes.values() if s.spec.app_id == app_id and s.spec.name == req.sandbox_name]
        live = [s for s in named if s.running] or (named if req.include_terminated else [])
        if not live:
            raise GRPCError(Status.NOT_FOUND, f"Sandbox '{req.sandbox_name}' was not found.")
        sandbox = max(live, key=lambda s: s.created_at)
        await stream.send_message(api_pb2.SandboxGetFromNameResponse(sandbox_id=sandbox.id, metadata=self._metadata(sandbox)))

    SandboxGetFromName = _from_name
    SandboxGetFromNameV2 = _from_name

    # Tunnels, snapshots, logs

    @staticmethod
    def _tunnel_proto(tunnel) -> api_pb2.TunnelData:
        data = api_pb2.TunnelData(host="127.0.0.1", port=tunnel.port, container_port=tunnel.container_port)
        if tunnel.unencrypted:
            data.unencrypted_host = "127.0.0.1"
            data.unencrypted_port = tunnel.port
        return data

    async def _tunnels(self, stream) -> None:
        req = await stream.recv_message()
        sandbox = self._running(self.world.sandbox(req.sandbox_id))
        await stream.send_message(
            api_pb2.SandboxGetTunnelsResponse(
                result=GS(status=GS.GENERIC_STATUS_SUCCESS),
                tunnels=[self._tunnel_proto(t) for t in sandbox.tunnels],
            )
        )

    SandboxGetTunnels = _tunnels
    SandboxGetTunnelsV2 = _tunnels

    async def SandboxSnapshotFs(self, stream) -> None:
        req = await stream.recv_message()
        image = await self.world.snapshot(self.world.sandbox(req.sandbox_id))
        await stream.send_message(
            api_pb2.SandboxSnapshotFsResponse(image_id=image.id, result=GS(status=GS.GENERIC_STATUS_SUCCESS))
        )

    async def SandboxGetLogs(self, stream) -> None:
        """The entrypoint's stdout/stderr for V1 handles: batches whose entry id is the byte offset."""
        req = await stream.recv_message()
        sandbox = self.world.sandbox(req.sandbox_id)
        if req.file_descriptor == api_pb2.FILE_DESCRIPTOR_STDERR:
            buffer = sandbox.entrypoint.stderr
        elif req.file_descriptor == api_pb2.FILE_DESCRIPTOR_STDOUT:
            buffer = sandbox.entrypoint.stdout
        else:
            raise GRPCError(Status.INVALID_ARGUMENT, "Only stdout and stderr logs are served.")
        offset = int(req.last_entry_id) if req.last_entry_id.isdigit() else 0
        pending = b""  # bytes of a UTF-8 character split across chunks wait for the rest
        try:
            async with asyncio.timeout(_poll_secs(req.timeout or MAX_LONG_POLL_SECS)):
                async for chunk in buffer.read_from(offset, 16384):
                    pending += chunk
                    cut = utf8_prefix_length(pending)
                    text, pending = pending[:cut], pending[cut:]
                    offset += len(text)
                    if text:
                        item = api_pb2.TaskLogs(data=text.decode("utf-8"), file_descriptor=req.file_descriptor)
                        await stream.send_message(api_pb2.TaskLogsBatch(items=[item], entry_id=str(offset)))
                if pending:
                    item = api_pb2.TaskLogs(data=pending.decode("utf-8", "replace"), file_descriptor=req.file_descriptor)
                    offset += len(pending)
                    await stream.send_message(api_pb2.TaskLogsBatch(items=[item], entry_id=str(offset)))
                await stream.send_message(api_pb2.TaskLogsBatch(entry_id=str(offset), eof=True))
        except TimeoutError:
            pass  # the long poll ends without EOF; the client asks again from its last entry id

