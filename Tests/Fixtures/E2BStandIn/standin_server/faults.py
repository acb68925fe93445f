"""Fault injection: the next N requests matching a method and path regex misbehave on purpose."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Optional

from .httpio import HTTPFailure

ACTIONS = ("status", "delay", "drop", "malformed", "truncate")
SERVERS = ("api", "envd", "any")
MAX_FAULTS = 256


@dataclass
class Fault:
    """One armed fault. `remaining` counts down per matching request; at 0 it is disarmed."""

    id: int
    action: str
    path: re.Pattern
    method: Optional[str]
    server: str
    remaining: int
    status: int = 0
    retry_after: Optional[int] = None
    message: Optional[str] = None
    execute: bool = False
    delay_ms: int = 0

    def describe(self) -> dict:
        """The fault as the control endpoint shows it."""
        out = {
            "id": self.id,
            "action": self.action,
            "path": self.path.pattern,
            "server": self.server,
            "remaining": self.remaining,
        }
        if self.method:
            out["method"] = self.method
        if self.action == "status":
            out.update({"status": self.status, "execute": self.execute})
            if self.retry_after is not None:
                out["retryAfter"] = self.retry_after
        if self.action == "delay":
            out["delayMs"] = self.delay_ms
        return out


def _int_field(spec: dict, name: str, default: Optional[int], low: int, high: int) -> Optional[int]:
    value = spec.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise HTTPFailure(400, f"Fault field {name} must be an integer from {low} to {high}.")
    return value


class FaultBook:
    """The armed faults, matched in the order they were added."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, spec: dict) -> Fault:
        """Arm a fault from its JSON description; a bad description is a 400."""
        action = spec.get("action")
        if action not in ACTIONS:
            raise HTTPFailure(400, f"Fault action must be one of {', '.join(ACTIONS)}.")
        pattern = spec.get("path")
        if not isinstance(pattern, str) or not pattern:
            raise HTTPFailure(400, "Fault path must be a non-empty regular expression.")
        try:
            compiled = re.compile(pattern)
        except re.error as e:
            raise HTTPFailure(400, f"Fault path is not a valid regular expression: {e}.")
        method = spec.get("method")
        if method is not None and (not isinstance(method, str) or not method.isalpha()):
            raise HTTPFailure(400, "Fault method must be an HTTP method name such as POST.")
        server = spec.get("server", "any")
        if server not in SERVERS:
            raise HTTPFailure(400, f"Fault server must be one of {', '.join(SERVERS)}.")
        count = _int_field(spec, "count", 1, 1, 1000)
        status = 0
        if action == "status":
            status = _int_field(spec, "status", None, 400, 599)
            if status is None:
                raise HTTPFailure(400, "A status fault needs a status from 400 to 599.")
        message = spec.get("message")
        if message is not None and not isinstance(message, str):
            raise HTTPFailure(400, "Fault message must be a string.")
        execute = spec.get("execute", False)
        if not isinstance(execute, bool):
            raise HTTPFailure(400, "Fault execute must be true or false.")
        fault_args = dict(
            action=action,
            path=compiled,
            method=method.upper() if method else None,
            server=server,
            remaining=count,
            status=status,
            retry_after=_int_field(spec, "retryAfter", None, 0, 3600),
            message=message,
            execute=execute,
            delay_ms=_int_field(spec, "delayMs", 0, 0, 60000) if action == "delay" else 0,
        )
        with self._lock:
            if len(self._faults) >= MAX_FAULTS:
                raise HTTPFailure(400, f"At most {MAX_FAULTS} faults can be armed at once.")
            fault = Fault(id=self._next_id, **fault_args)
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def take(self, server: str, method: str, path: str) -> Optional[Fault]:
        """The first armed fault matching this request, counted down; None when none matches."""
        with self._lock:
            for fault in self._faults:
                if fault.server not in ("any", server):
                    continue
                if fault.method and fault.method != method:
                    continue
                if not fault.path.search(path):
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def list(self) -> list[dict]:
        """The armed faults, described."""
        with self._lock:
            return [f.describe() for f in self._faults]

    def clear(self) -> int:
        """Disarm every fault; returns how many were armed."""
        with self._lock:
            n = len(self._faults)
            self._faults.clear()
            return n
