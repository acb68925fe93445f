"""A running stand-in sandbox: a directory, its entrypoint, its execs, its tunnels and its timers.

The stand-in enforces Modal's two lifetimes with the event loop's monotonic clock: `timeout_secs`
from the start (status TIMEOUT) and `idle_timeout_secs` without activity (status IDLE_TIMEOUT).
Activity is an exec starting or ending, a stdin write, or a tunnel connection or byte; a sandbox
with a running exec is never idle. When a sandbox ends for any reason, every process it started is
killed (its entrypoint's and its execs' process groups) and its tunnels close.
"""

import asyncio
import os
import time
from dataclasses import dataclass, field

from host_process import HostProcess
from modal_proto import api_pb2
from tunnel import Tunnel

GS = api_pb2.GenericResult

DEFAULT_ENTRYPOINT = ("sleep", "infinity")


@dataclass
class SandboxSpec:
    """What a create request asked for, already validated."""

    app_id: str
    image_id: str
    entrypoint: tuple[str, ...]
    timeout_secs: int
    idle_timeout_secs: int | None
    workdir: str | None
    env: dict[str, str]
    open_ports: list[tuple[int, bool]]
    tags: dict[str, str] = field(default_factory=dict)
    name: str | None = None


@dataclass
class Exec:
    exec_id: str
    args: tuple[str, ...]
    process: HostProcess
    timeout_handle: asyncio.TimerHandle | None = None


@dataclass
class Result:
    status: int
    exitcode: int
    exception: str = ""

    def proto(self) -> api_pb2.GenericResult:
        return api_pb2.GenericResult(status=self.status, exitcode=self.exitcode, exception=self.exception)


class Sandbox:
    """One sandbox: really running processes in `directory`, with Modal's lifetime rules."""

    def __init__(self, sandbox_id: str, task_id: str, v2: bool, spec: SandboxSpec, directory: str, output_cap: int):
        self.id = sandbox_id
        self.task_id = task_id
        self.v2 = v2
        self.spec = spec
        self.tags = dict(spec.tags)
        self.directory = directory
        self.created_at = time.time()
        self.result: Result | None = None
        self.finished = asyncio.Event()
        self.entrypoint = HostProcess(output_cap)
        self.execs: dict[str, Exec] = {}
        self.tunnels: list[Tunnel] = []
        self._output_cap = output_cap
        self._loop = asyncio.get_running_loop()
        self.started_mono = self._loop.time()
        self.deadline_mono = self.started_mono + spec.timeout_secs
        self.last_activity_mono = self.started_mono
        self._timeout_handle: asyncio.TimerHandle | None = None
        self._idle_handle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Lifecycle

    async def start(self, base_env: dict[str, str]) -> None:
        for port, unencrypted in self.spec.open_ports:
            tunnel = Tunnel(port, unencrypted, self.touch)
            await tunnel.start()
            self.tunnels.append(tunnel)
        self._timeout_handle = self._loop.call_at(self.deadline_mono, self._on_timeout)
        self._arm_idle()
        env = {**base_env, **self.spec.env}
        await self.entrypoint.start(self.spec.entrypoint, self.cwd_for(self.spec.workdir), env)
        self._spawn(self._watch_entrypoint())

    async def _watch_entrypoint(self) -> None:
        await self.entrypoint.done.wait()
        if self.entrypoint.exit_signal is not None:
            code = 128 + self.entrypoint.exit_signal
        else:
            code = self.entrypoint.exit_code or 0
        status = GS.GENERIC_STATUS_SUCCESS if code == 0 else GS.GENERIC_STATUS_FAILURE
        self.finish(Result(status, code, "" if code == 0 else f"Sandbox entrypoint exited with code {code}."))

    def finish(self, result: Result) -> bool:
        """End the sandbox once (the first reason wins): record the result, kill everything it runs."""
        if self.result is not None:
            return False
        self.result = result
        for handle in (self._timeout_handle, self._idle_handle):
            if handle is not None:
                handle.cancel()
        self.entrypoint.kill_group()
        for ex in self.execs.values():
            ex.process.kill_group()
            if ex.timeout_handle is not None:
                ex.timeout_handle.cancel()
        for tunnel in self.tunnels:
            self._spawn(tunnel.close())
        self.finished.set()
        return True

    def terminate(self) -> None:
        self.finish(Result(GS.GENERIC_STATUS_TERMINATED, 137, "Sandbox was terminated."))

    @property
    def running(self) -> bool:
        return self.result is None

    def _on_timeout(self) -> None:
        self.finish(Result(GS.GENERIC_STATUS_TIMEOUT, 124, f"Sandbox timed out after {self.spec.timeout_secs}s."))

    # Idleness

    def touch(self) -> None:
        """Record activity: the idle timer starts again from now."""
        self.last_activity_mono = self._loop.time()
        self._arm_idle()

    def _arm_idle(self) -> None:
        if self.spec.idle_timeout_secs is None or not self.running:
            return
        if self._idle_handle is not None:
            self._idle_handle.cancel()
        self._idle_handle = self._loop.call_at(self.last_activity_mono + self.spec.idle_timeout_secs, self._on_idle)

    def _on_idle(self) -> None:
        if any(ex.process.running for ex in self.execs.values()):
            return  # the exec's end touches the sandbox and re-arms the timer
        secs = self.spec.idle_timeout_secs
        self.finish(Result(GS.GENERIC_STATUS_IDLE_TIMEOUT, 124, f"Sandbox was idle for {secs}s."))

    @property
    def idle_deadline_mono(self) -> float | None:
        if self.spec.idle_timeout_secs is None:
            return None
        return self.last_activity_mono + self.spec.idle_timeout_secs

    # Execs

    def cwd_for(self, workdir: str | None) -> str:
        """Absolute sandbox paths live under the sandbox directory (there is no container root)."""
        if not workdir:
            return self.directory
        path = os.path.normpath(os.path.join(self.directory, workdir.lstrip("/")))
        if os.path.commonpath([path, self.directory]) != self.directory:
            path = self.directory  # `..` may not leave the sandbox directory
        os.makedirs(path, exist_ok=True)
        return path

    async def exec_start(
        self,
        exec_id: str,
        args: tuple[str, ...],
        workdir: str | None,
        env: dict[str, str],
        stdout_mode: str,
        stderr_mode: str,
        timeout_secs: int | None,
    ) -> Exec:
        """Start an exec once per exec id (a retried start returns the running one)."""
        existing = self.execs.get(exec_id)
        if existing is not None:
            return existing
        ex = Exec(exec_id, args, HostProcess(self._output_cap))
        self.execs[exec_id] = ex
        self.touch()
        await ex.process.start(args, self.cwd_for(workdir), env, stdout_mode, stderr_mode)
        if not self.running:
            ex.process.kill_group()  # the sandbox ended while the exec was starting
        if timeout_secs:
            ex.timeout_handle = self._loop.call_later(timeout_secs, ex.process.kill_group)
        self._spawn(self._watch_exec(ex))
        return ex

    async def _watch_exec(self, ex: Exec) -> None:
        await ex.process.done.wait()
        if ex.timeout_handle is not None:
            ex.timeout_handle.cancel()
        if self.running:
            self.touch()

    # Inspection

    def describe(self) -> dict:
        now = self._loop.time()
        idle = self.idle_deadline_mono
        return {
            "id": self.id,
            "version": "v2" if self.v2 else "v1",
            "task_id": self.task_id,
            "app_id": self.spec.app_id,
            "name": self.spec.name,
            "image_id": self.spec.image_id,
            "directory": self.directory,
            "entrypoint": list(self.spec.entrypoint),
            "entrypoint_pid": self.entrypoint.pid,
            "tags": dict(self.tags),
            "env_keys": sorted(self.spec.env),
            "created_at": self.created_at,
            "timeout_secs": self.spec.timeout_secs,
            "idle_timeout_secs": self.spec.idle_timeout_secs,
            "deadline_in_secs": round(self.deadline_mono - now, 3) if self.running else None,
            "idle_deadline_in_secs": round(idle - now, 3) if self.running and idle is not None else None,
            "running": self.running,
            "result": None
            if self.result is None
            else {
                "status": GS.GenericStatus.Name(self.result.status),
                "exitcode": self.result.exitcode,
                "exception": self.result.exception,
            },
            "execs": [
                {
                    "exec_id": ex.exec_id,
                    "args": list(ex.args),
                    "pid": ex.process.pid,
                    "running": ex.process.running,
                    "exit_code": ex.process.exit_code,
                    "exit_signal": ex.process.exit_signal,
                }
                for ex in self.execs.values()
            ],
            "tunnels": [t.describe() for t in self.tunnels],
        }
