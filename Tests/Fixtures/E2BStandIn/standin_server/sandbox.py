"""One sandbox: a directory that is its home and working directory, the commands running in it,
its deadline, metadata and environment."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from .connect import ConnectFailure
from .process import SandboxProcess

# The home directory E2B sandboxes have; paths under it map onto the sandbox's directory.
E2B_HOME = "/home/user"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def iso(ts: datetime) -> str:
    """RFC 3339 in UTC with a Z, as E2B's API writes times."""
    return ts.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Sandbox:
    """A live sandbox. Mutable fields are guarded by the registry's lock."""

    sandbox_id: str
    template_id: str
    alias: Optional[str]
    home: str
    metadata: dict
    env_vars: dict
    access_token: str
    started_at: datetime
    end_at: datetime
    deadline: float  # monotonic seconds
    timeout: int
    processes: dict = field(default_factory=dict)  # pid -> SandboxProcess
    streams: set = field(default_factory=set)  # sockets of open RPC streams, cut when it goes
    # Every process group ever started here: a command's background children outlive it in its
    # group, so the kill must reach groups whose leader already exited.
    groups: set = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    gone: bool = False

    def resolve_path(self, path: str, must_exist: bool = False) -> str:
        """A sandbox path as a host path inside this sandbox's directory.

        Relative paths are relative to the home; `/home/user/...` maps onto the home; other
        absolute paths must already lie inside the sandbox directory. The stand-in confines
        clients to their sandbox so a buggy client cannot write elsewhere on the host.
        """
        if not path:
            raise ValueError("The path is empty.")
        if path == E2B_HOME or path.startswith(E2B_HOME + "/"):
            path = self.home + path[len(E2B_HOME):]
        elif not path.startswith("/"):
            path = os.path.join(self.home, path)
        real = os.path.realpath(path)
        home = os.path.realpath(self.home)
        if real != home and not real.startswith(home + os.sep):
            raise ValueError(f"The path {path} lies outside the sandbox.")
        if must_exist and not os.path.exists(real):
            raise FileNotFoundError(path)
        return real

    def spawn(self, config: dict, tag: Optional[str], stdin: bool, on_exit) -> SandboxProcess:
        """Start `config` (envd's ProcessConfig) as a new process group in this sandbox."""
        cmd = config.get("cmd")
        args = config.get("args") or []
        envs = config.get("envs") or {}
        if not isinstance(cmd, str) or not cmd:
            raise ConnectFailure("invalid_argument", "process.cmd must be a non-empty string.")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ConnectFailure("invalid_argument", "process.args must be a list of strings.")
        if not isinstance(envs, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in envs.items()):
            raise ConnectFailure("invalid_argument", "process.envs must map strings to strings.")
        cwd = self.home
        if config.get("cwd"):
            try:
                cwd = self.resolve_path(config["cwd"], must_exist=True)
            except (ValueError, FileNotFoundError) as e:
                raise ConnectFailure("invalid_argument", f"The working directory is not usable: {e}")
            if not os.path.isdir(cwd):
                raise ConnectFailure("invalid_argument", f"The working directory {config['cwd']} is not a directory.")
        env = {
            "PATH": DEFAULT_PATH,
            "HOME": self.home,
            "PWD": cwd,
            "SHELL": "/bin/bash",
            "LANG": "C.UTF-8",
        }
        env.update(self.env_vars)
        env.update(envs)
        # Started under the lock, so a concurrent kill either sees this process or refuses it.
        with self.lock:
            if self.gone:
                raise ConnectFailure("unavailable", f"The sandbox {self.sandbox_id} was not found.")
            try:
                popen = subprocess.Popen(
                    [cmd, *args],
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,  # its own session and process group: the kill unit
                    close_fds=True,
                )
            except OSError as e:
                raise ConnectFailure("invalid_argument", f"The command could not be started: {e.strerror}.")
            process = SandboxProcess(popen, config, tag, stdin, on_exit)
            self.processes[process.pid] = process
            self.groups.add(process.pid)
        return process

    def find_process(self, selector: dict) -> SandboxProcess:
        """The running process a ProcessSelector (`{"pid": n}` or `{"tag": s}`) names."""
        if not isinstance(selector, dict):
            raise ConnectFailure("invalid_argument", "A process selector is required.")
        with self.lock:
            running = [p for p in self.processes.values() if not p.ended]
        if "pid" in selector:
            for p in running:
                if p.pid == selector["pid"]:
                    return p
            raise ConnectFailure("not_found", f"process with pid {selector['pid']} not found")
        if "tag" in selector:
            for p in running:
                if p.tag == selector["tag"]:
                    return p
            raise ConnectFailure("not_found", f"process with tag {selector['tag']} not found")
        raise ConnectFailure("invalid_argument", "A process selector needs a pid or a tag.")

    def forget(self, process: SandboxProcess) -> None:
        """Drop a finished process from the table."""
        with self.lock:
            self.processes.pop(process.pid, None)

    def kill_everything(self) -> list[SandboxProcess]:
        """SIGKILL every process group of this sandbox and cut its open streams."""
        with self.lock:
            self.gone = True
            procs = list(self.processes.values())
            groups = sorted(self.groups)
            streams = list(self.streams)
            self.streams.clear()
        # Cut streams first, so none of them reports the killed processes' end events: when a
        # VM goes, its connections end without an end-of-stream message.
        for sock in streams:
            try:
                sock.shutdown(2)
            except OSError:
                pass
        for pgid in groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass  # that group has no member left
        return procs
