"""One command running in a sandbox: a real process in its own process group, whose output is
pumped to the RPC streams watching it as envd's ProcessEvent messages."""

from __future__ import annotations

import base64
import os
import queue
import selectors
import signal
import subprocess
import threading
from typing import Callable, Optional

from .connect import ConnectFailure

READ_SIZE = 32 * 1024
SUBSCRIBER_QUEUE = 256  # events buffered per watcher before the pump waits (backpressure)

# Go's names for signals, as envd's `status` string ("signal: killed") spells them.
_GO_SIGNAL_NAMES = {
    signal.SIGKILL: "killed",
    signal.SIGTERM: "terminated",
    signal.SIGINT: "interrupt",
    signal.SIGHUP: "hangup",
    signal.SIGQUIT: "quit",
    signal.SIGPIPE: "broken pipe",
    signal.SIGABRT: "aborted",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGUSR1: "user defined signal 1",
    signal.SIGUSR2: "user defined signal 2",
}


def end_event(returncode: int) -> dict:
    """envd's EndEvent for a finished process, in proto3 JSON (zero values omitted)."""
    if returncode >= 0:
        end = {"exited": True, "status": f"exit status {returncode}"}
        if returncode:
            end["exitCode"] = returncode
        return end
    signum = -returncode
    try:
        name = _GO_SIGNAL_NAMES.get(signal.Signals(signum), f"signal {signum}")
    except ValueError:
        name = f"signal {signum}"
    return {"exitCode": -1, "status": f"signal: {name}"}


class Subscriber:
    """One stream watching a process: a bounded queue of events; None marks the end."""

    def __init__(self):
        self.queue: queue.Queue = queue.Queue(maxsize=SUBSCRIBER_QUEUE)
        self.closed = threading.Event()


class SandboxProcess:
    """A started command. The pump thread reads its pipes and its pidfd, so the end event comes
    right after the process exits (output still in the pipes is drained first)."""

    def __init__(self, popen: subprocess.Popen, config: dict, tag: Optional[str], stdin_enabled: bool,
                 on_exit: Callable[["SandboxProcess"], None]):
        self.popen = popen
        self.pid = popen.pid
        self.config = config
        self.tag = tag
        self.stdin_enabled = stdin_enabled
        self._on_exit = on_exit
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []
        self._ended = False
        self._stdin_lock = threading.Lock()
        self._pump = threading.Thread(target=self._run_pump, name=f"pump-{self.pid}", daemon=True)

    @property
    def ended(self) -> bool:
        """True once the end event was published."""
        with self._lock:
            return self._ended

    def subscribe(self) -> Optional[Subscriber]:
        """A new watcher of events from now on; None when the process already ended."""
        sub = Subscriber()
        with self._lock:
            if self._ended:
                return None
            self._subscribers.append(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        """Stop delivering to a watcher (its stream closed)."""
        sub.closed.set()
        with self._lock:
            if sub in self._subscribers:
                self._subscribers.remove(sub)

    def start(self) -> None:
        """Start pumping; subscribe the first watcher before this so no output is missed."""
        self._pump.start()

    def join(self, timeout: float) -> None:
        """Wait for the pump to publish the end (bounded)."""
        if self._pump.is_alive():
            self._pump.join(timeout)

    def _publish(self, event: Optional[dict]) -> None:
        with self._lock:
            subs = list(self._subscribers)
        for sub in subs:
            while not sub.closed.is_set():
                try:
                    sub.queue.put(event, timeout=0.5)
                    break
                except queue.Full:
                    continue  # a slow reader holds the process back, like flow control would

    def _run_pump(self) -> None:
        sel = selectors.DefaultSelector()
        pidfd = os.pidfd_open(self.pid)
        sel.register(pidfd, selectors.EVENT_READ, "exit")
        pipes = 0
        for name, stream in (("stdout", self.popen.stdout), ("stderr", self.popen.stderr)):
            os.set_blocking(stream.fileno(), False)
            sel.register(stream.fileno(), selectors.EVENT_READ, name)
            pipes += 1
        exited = False
        try:
            while pipes:
                ready = sel.select(timeout=0 if exited else None)
                if exited and not ready:
                    break  # the process is gone and its pipes hold nothing more right now
                for key, _ in ready:
                    if key.data == "exit":
                        exited = True
                        sel.unregister(pidfd)
                        continue
                    try:
                        data = os.read(key.fd, READ_SIZE)
                    except BlockingIOError:
                        continue
                    if not data:
                        sel.unregister(key.fd)
                        pipes -= 1
                        continue
                    payload = base64.b64encode(data).decode()
                    self._publish({"data": {key.data: payload}})
        finally:
            sel.close()
            os.close(pidfd)
        returncode = self.popen.wait()
        for stream in (self.popen.stdout, self.popen.stderr, self.popen.stdin):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        event = {"end": end_event(returncode)}
        self._publish(event)
        with self._lock:
            self._ended = True
            subs = list(self._subscribers)
            self._subscribers.clear()
        for sub in subs:
            try:
                sub.queue.put_nowait(None)
            except queue.Full:
                pass  # that reader stopped reading; its stream is cut when the sandbox goes
        self._on_exit(self)

    def write_stdin(self, data: bytes) -> None:
        """Feed the process's stdin; an error when it has none or it is closed."""
        if not self.stdin_enabled:
            raise ConnectFailure("failed_precondition", f"Process {self.pid} was started without stdin.")
        with self._stdin_lock:
            stdin = self.popen.stdin
            if stdin is None or stdin.closed:
                raise ConnectFailure("failed_precondition", f"The stdin of process {self.pid} is closed.")
            try:
                stdin.write(data)
                stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                raise ConnectFailure("failed_precondition", f"The stdin of process {self.pid} is closed.")

    def close_stdin(self) -> None:
        """Send EOF to the process's stdin."""
        if not self.stdin_enabled:
            raise ConnectFailure("failed_precondition", f"Process {self.pid} was started without stdin.")
        with self._stdin_lock:
            stdin = self.popen.stdin
            if stdin is not None and not stdin.closed:
                try:
                    stdin.close()
                except OSError:
                    pass

    def signal_group(self, signum: int) -> None:
        """Signal the command's whole process group (it was started as a session leader)."""
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            pass

    def describe(self) -> dict:
        """ProcessInfo as envd's List answers it."""
        info = {"config": self.config, "pid": self.pid}
        if self.tag is not None:
            info["tag"] = self.tag
        return info
