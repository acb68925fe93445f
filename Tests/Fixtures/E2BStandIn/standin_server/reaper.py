"""The timeout backstop: a thread that sleeps on the registry's condition until the earliest
sandbox deadline (monotonic clock), then kills whatever is due. Deadline changes wake it."""

from __future__ import annotations

import sys
import threading

from .registry import Registry


class Reaper(threading.Thread):
    """Kills sandboxes whose deadline passed, like E2B does when a sandbox times out."""

    def __init__(self, registry: Registry):
        super().__init__(name="reaper", daemon=True)
        self.registry = registry

    def run(self) -> None:
        reg = self.registry
        while True:
            with reg.cond:
                while True:
                    if reg.stopping:
                        return
                    due, nxt = reg.due()
                    if due:
                        break
                    reg.cond.wait(None if nxt is None else max(0.0, nxt - reg.clock()))
            for sandbox_id in due:
                try:
                    if reg.kill(sandbox_id, "timeout"):
                        print(f"standin: sandbox {sandbox_id} reached its timeout and was killed",
                              file=sys.stderr, flush=True)
                except Exception as e:  # the backstop must keep running whatever one kill does
                    print(f"standin: killing {sandbox_id} failed: {e}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        """Ask the thread to end and wake it."""
        with self.registry.cond:
            self.registry.stopping = True
            self.registry.cond.notify_all()
