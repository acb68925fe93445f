"""The task command router, `/modal.task_command_router.TaskCommandRouter/*`, on the wheel's base.

Modal runs one per worker; the client reaches it at the URL and with the bearer JWT that the control
plane hands out. Here it is a second port of the same process. It serves exec (start, stdio read by
offset, stdin write, wait, poll), the entrypoint's stdio for V2 handles, and filesystem snapshots.
A router token is bound to one task: using it for another task is refused.
"""

from grpclib import GRPCError, Status

from host_process import DEVNULL, PIPE, TO_STDOUT, HostProcess, StdinOffsetError
from interceptor import fill_unimplemented
from modal_proto import task_command_router_grpc, task_command_router_pb2 as sr
from sandbox import Sandbox
from world import World

STDIO_CHUNK = 64 * 1024
MAX_EXEC_ARGS_BYTES = 1 << 17  # Linux's ARG_MAX as Modal's client measures it

STDOUT_MODES = {sr.TASK_EXEC_STDOUT_CONFIG_PIPE: PIPE, sr.TASK_EXEC_STDOUT_CONFIG_DEVNULL: DEVNULL}
STDERR_MODES = {
    sr.TASK_EXEC_STDERR_CONFIG_PIPE: PIPE,
    sr.TASK_EXEC_STDERR_CONFIG_DEVNULL: DEVNULL,
    sr.TASK_EXEC_STDERR_CONFIG_STDOUT: TO_STDOUT,
}


class RouterService(fill_unimplemented(task_command_router_grpc.TaskCommandRouterBase)):
    """Exec and snapshots inside running stand-in sandboxes."""

    def __init__(self, world: World):
        self.world = world
        self._snapshots: dict[str, str] = {}  # client snapshot id -> image id, so retries are idempotent

    def _task(self, stream, task_id: str, running: bool = True) -> Sandbox:
        if stream.claims is None or stream.claims.get("sub") != task_id:
            raise GRPCError(Status.PERMISSION_DENIED, "The command router token was issued for another task.")
        sandbox = self.world.task(task_id)
        if running and not sandbox.running:
            raise GRPCError(Status.FAILED_PRECONDITION, f"Task {task_id} has already finished.")
        return sandbox

    def _exec(self, stream, task_id: str, exec_id: str) -> HostProcess:
        sandbox = self._task(stream, task_id, running=False)
        ex = sandbox.execs.get(exec_id)
        if ex is None:
            raise GRPCError(Status.NOT_FOUND, f"Exec {exec_id} was not found in task {task_id}.")
        return ex.process

    async def TaskExecStart(self, stream) -> None:
        req = await stream.recv_message()
        sandbox = self._task(stream, req.task_id)
        args = tuple(req.command_args)
        if not args:
            raise GRPCError(Status.INVALID_ARGUMENT, "An exec needs at least one command argument.")
        if sum(len(a) for a in args) > MAX_EXEC_ARGS_BYTES:
            raise GRPCError(Status.INVALID_ARGUMENT, "The exec's arguments are longer than ARG_MAX.")
        if not req.exec_id:
            raise GRPCError(Status.INVALID_ARGUMENT, "An exec needs an exec id.")
        env: dict[str, str] = {}
        for secret_id in req.secret_ids:
            env.update(self.world.secret_env(secret_id))
        for source in req.secret_sources:
            if source.HasField("env"):
                env.update(source.env.contents)
            elif source.secret_id:
                env.update(self.world.secret_env(source.secret_id))
        env.update(req.env)
        await sandbox.exec_start(
            req.exec_id,
            args,
            req.workdir if req.HasField("workdir") else None,
            self.world.exec_env(sandbox, env),
            STDOUT_MODES.get(req.stdout_config, DEVNULL),
            STDERR_MODES.get(req.stderr_config, DEVNULL),
            req.timeout_secs if req.HasField("timeout_secs") else None,
        )
        await stream.send_message(sr.TaskExecStartResponse())

    async def TaskExecStdioRead(self, stream) -> None:
        req = await stream.recv_message()
        process = self._exec(stream, req.task_id, req.exec_id)
        if req.file_descriptor == sr.TASK_EXEC_STDIO_FILE_DESCRIPTOR_STDERR:
            buffer = process.stderr
        else:
            buffer = process.stdout
        async for chunk in buffer.read_from(req.offset, STDIO_CHUNK):
            await stream.send_message(sr.TaskExecStdioReadResponse(data=chunk))

    async def TaskExecStdinWrite(self, stream) -> None:
        req = await stream.recv_message()
        process = self._exec(stream, req.task_id, req.exec_id)
        try:
            await process.write_stdin(req.offset, req.data, req.eof)
        except StdinOffsetError as exc:
            raise GRPCError(Status.OUT_OF_RANGE, str(exc)) from None
        self.world.task(req.task_id).touch()
        await stream.send_message(sr.TaskExecStdinWriteResponse())

    async def TaskExecStdinStatus(self, stream) -> None:
        req = await stream.recv_message()
        process = self._exec(stream, req.task_id, req.exec_id)
        await stream.send_message(
            sr.TaskExecStdinStatusResponse(num_bytes_written=process.stdin_written, closed=process.stdin_closed)
        )

    @staticmethod
    def _exit_status(process: HostProcess, response_type):
        if process.exit_signal is not None:
            return response_type(signal=process.exit_signal)
        return response_type(code=process.exit_code or 0)

    async def TaskExecWait(self, stream) -> None:
        req = await stream.recv_message()
        process = self._exec(stream, req.task_id, req.exec_id)
        await process.done.wait()
        await stream.send_message(self._exit_status(process, sr.TaskExecWaitResponse))

    async def TaskExecPoll(self, stream) -> None:
        req = await stream.recv_message()
        process = self._exec(stream, req.task_id, req.exec_id)
        if process.running:
            await stream.send_message(sr.TaskExecPollResponse())
        else:
            await stream.send_message(self._exit_status(process, sr.TaskExecPollResponse))

    async def TaskSnapshotFilesystem(self, stream) -> None:
        req = await stream.recv_message()
        sandbox = self._task(stream, req.task_id)
        if req.container_id:
            raise GRPCError(Status.UNIMPLEMENTED, "The stand-in has no sidecar containers.")
        image_id = self._snapshots.get(req.snapshot_id) if req.snapshot_id else None
        if image_id is None:
            image_id = (await self.world.snapshot(sandbox)).id
            if req.snapshot_id:
                self._snapshots[req.snapshot_id] = image_id
        await stream.send_message(sr.TaskSnapshotFilesystemResponse(image_id=image_id))

    # The entrypoint's own stdio, as V2 handles read and write it.

    async def SandboxStdioReadV2(self, stream) -> None:
        req = await stream.recv_message()
        sandbox = self._task(stream, req.task_id, running=False)
        if req.file_descriptor == sr.SANDBOX_STDIO_FILE_DESCRIPTOR_STDERR:
            buffer = sandbox.entrypoint.stderr
        else:
            buffer = sandbox.entrypoint.stdout
        offset = req.offset
        async for chunk in buffer.read_from(offset, STDIO_CHUNK):
            await stream.send_message(sr.SandboxStdioReadV2Response(data=chunk, starting_offset=offset))
            offset += len(chunk)

    async def SandboxStdinWriteV2(self, stream) -> None:
        req = await stream.recv_message()
        sandbox = self._task(stream, req.task_id)
        try:
            await sandbox.entrypoint.write_stdin(req.offset, req.data, req.eof)
        except StdinOffsetError as exc:
            raise GRPCError(Status.OUT_OF_RANGE, str(exc)) from None
        sandbox.touch()
        await stream.send_message(sr.SandboxStdinWriteV2Response())
