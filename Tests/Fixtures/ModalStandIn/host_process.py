"""One real process on this host in its own process group: a sandbox entrypoint or an exec.

Every process is started with `start_new_session=True`, so it leads its own process group and the
stand-in can kill it together with anything it forked (`killpg`). Its stdout and stderr go into
OutputBuffers that clients read by offset; its stdin takes offset-addressed writes, as Modal's
`TaskExecStdinWrite` does.
"""

import asyncio
import os
import signal
from collections.abc import Mapping, Sequence

from output_buffer import OutputBuffer

# How a process's output is wired, mirroring TaskExecStdoutConfig / TaskExecStderrConfig.
PIPE = "pipe"
DEVNULL = "devnull"
TO_STDOUT = "stdout"


class StdinOffsetError(Exception):
    """A stdin write whose offset leaves a gap after what was already written."""


class HostProcess:
    """A started process, its output logs, and how it ended."""

    def __init__(self, output_cap: int):
        self.stdout = OutputBuffer(output_cap)
        self.stderr = OutputBuffer(output_cap)
        self.pid: int | None = None
        self.exit_code: int | None = None
        self.exit_signal: int | None = None
        self.stdin_written = 0
        self.stdin_closed = False
        self.done = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self._group_killed = False
        self._stdin_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []

    @property
    def running(self) -> bool:
        return not self.done.is_set()

    async def start(
        self,
        args: Sequence[str],
        cwd: str,
        env: Mapping[str, str],
        stdout_mode: str = PIPE,
        stderr_mode: str = PIPE,
    ) -> None:
        """Start `args`; a command that cannot be executed ends at once with 126/127 as a shell would."""
        stdout = asyncio.subprocess.PIPE if stdout_mode == PIPE else asyncio.subprocess.DEVNULL
        if stderr_mode == TO_STDOUT and stdout_mode == PIPE:
            stderr = asyncio.subprocess.STDOUT
        elif stderr_mode == PIPE:
            stderr = asyncio.subprocess.PIPE
        else:
            stderr = asyncio.subprocess.DEVNULL
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *args,
                cwd=cwd,
                env=dict(env),
                stdin=asyncio.subprocess.PIPE,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            code = 127 if isinstance(exc, FileNotFoundError) else 126
            self.stderr.append(f"{args[0]}: {exc.strerror}\n".encode())
            self._finish_unstarted(code)
            return
        self.pid = self._proc.pid
        if self._proc.stdout is not None:
            self._tasks.append(asyncio.create_task(self.stdout.pump(self._proc.stdout)))
        else:
            self.stdout.close()
        if self._proc.stderr is not None:
            self._tasks.append(asyncio.create_task(self.stderr.pump(self._proc.stderr)))
        else:
            self.stderr.close()
        self._tasks.append(asyncio.create_task(self._reap()))

    def _finish_unstarted(self, code: int) -> None:
        self.exit_code = code
        self.stdout.close()
        self.stderr.close()
        self.stdin_closed = True
        self.done.set()

    async def _reap(self) -> None:
        assert self._proc is not None
        returncode = await self._proc.wait()
        if returncode < 0:
            self.exit_signal = -returncode
        else:
            self.exit_code = returncode
        self.done.set()

    def kill_group(self) -> None:
        """SIGKILL the whole process group, once; the reaper records how it ended."""
        if self.pid is None or self._group_killed:
            return
        self._group_killed = True
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        # The pipes may be held open by nobody now, but a reader must not wait on a killed process.
        if self.done.is_set():
            self.stdout.close()
            self.stderr.close()

    async def write_stdin(self, offset: int, data: bytes, eof: bool) -> None:
        """Write `data` at stdin byte `offset`; bytes already written (a retry) are skipped."""
        async with self._stdin_lock:
            if offset > self.stdin_written:
                raise StdinOffsetError(
                    f"Stdin write at offset {offset} leaves a gap: only {self.stdin_written} bytes were written."
                )
            fresh = data[self.stdin_written - offset :]
            pipe = self._proc.stdin if self._proc is not None else None
            if fresh and not self.stdin_closed and pipe is not None:
                try:
                    pipe.write(fresh)
                    await pipe.drain()
                except (BrokenPipeError, ConnectionResetError):
                    pass
            self.stdin_written += len(fresh)
            if eof and not self.stdin_closed:
                self.stdin_closed = True
                if pipe is not None:
                    pipe.close()

    async def aclose(self) -> None:
        """Kill the group and wait for the reaper and pumps to finish."""
        self.kill_group()
        for task in self._tasks:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
