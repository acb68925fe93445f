"""Injected faults: the next N calls of the methods a pattern matches fail, wait, or lose their stream.

Rules are added through the control server (another thread) and taken by the gRPC handlers (the
event loop), so the book is guarded by a lock. A rule matches a method by `re.fullmatch` on its short
name (`SandboxCreateV2`, `TaskExecStdioRead`); the first live matching rule fires and is used up
after `count` calls.
"""

import re
import threading
from dataclasses import dataclass

from grpclib import Status

ACTIONS = {
    "unavailable": Status.UNAVAILABLE,
    "resource_exhausted": Status.RESOURCE_EXHAUSTED,
    "unauthenticated": Status.UNAUTHENTICATED,
    "error": None,  # any status, named in `status`
    "delay": None,
    "drop": None,
}

MAX_RULES = 100
MAX_COUNT = 10_000
MAX_DELAY_MS = 600_000


class FaultSpecError(ValueError):
    """A fault rule that cannot be used; the message says why."""


@dataclass
class Fault:
    """One firing of a rule, handed to the interceptor."""

    rule_id: int
    action: str
    status: Status | None
    message: str
    delay_ms: int
    after_messages: int | None
    retry_after_secs: float | None


@dataclass
class _Rule:
    rule_id: int
    pattern: str
    regex: re.Pattern
    fault: Fault
    remaining: int
    fired: int = 0


def _number(spec: dict, key: str, default, lo, hi, kind=int):
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (lo <= value <= hi):
        raise FaultSpecError(f"`{key}` must be a number from {lo} to {hi}.")
    return kind(value)


class FaultBook:
    """The live fault rules and how often each fired."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._next_id = 1

    def add(self, spec: dict) -> int:
        """Add a rule from its JSON form; raises FaultSpecError with a full-sentence reason."""
        if not isinstance(spec, dict):
            raise FaultSpecError("A fault must be a JSON object.")
        pattern = spec.get("method")
        if not isinstance(pattern, str) or not pattern or len(pattern) > 200:
            raise FaultSpecError("`method` must be a regular expression of 1 to 200 characters.")
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise FaultSpecError(f"`method` is not a valid regular expression: {exc}.") from None
        action = spec.get("action")
        if action not in ACTIONS:
            raise FaultSpecError(f"`action` must be one of {', '.join(sorted(ACTIONS))}.")
        status = ACTIONS[action]
        if action == "error":
            name = spec.get("status")
            if not isinstance(name, str) or name not in Status.__members__ or name == "OK":
                raise FaultSpecError("`status` must name a gRPC status other than OK, e.g. INTERNAL.")
            status = Status[name]
        count = _number(spec, "count", 1, 1, MAX_COUNT)
        delay_ms = _number(spec, "delay_ms", 0, 0, MAX_DELAY_MS)
        if action == "delay" and not delay_ms:
            raise FaultSpecError("A delay fault needs `delay_ms` greater than 0.")
        after = _number(spec, "after_messages", None, 0, 1_000_000)
        retry_after = _number(spec, "retry_after_secs", None, 0, 3600, float)
        message = spec.get("message", f"Injected fault: {action}.")
        if not isinstance(message, str) or len(message) > 500:
            raise FaultSpecError("`message` must be a string of at most 500 characters.")
        with self._lock:
            if len(self._rules) >= MAX_RULES:
                raise FaultSpecError(f"At most {MAX_RULES} fault rules may be live at once.")
            rule_id = self._next_id
            self._next_id += 1
            fault = Fault(rule_id, action, status, message, delay_ms, after, retry_after)
            self._rules.append(_Rule(rule_id, pattern, regex, fault, count))
        return rule_id

    def take(self, method: str) -> Fault | None:
        """The fault for this call of `method`, using up one count of the first matching rule."""
        with self._lock:
            for rule in self._rules:
                if rule.remaining > 0 and rule.regex.fullmatch(method):
                    rule.remaining -= 1
                    rule.fired += 1
                    return rule.fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def describe(self) -> list[dict]:
        with self._lock:
            return [
                {
                    "id": r.rule_id,
                    "method": r.pattern,
                    "action": r.fault.action,
                    "status": r.fault.status.name if r.fault.status is not None else None,
                    "remaining": r.remaining,
                    "fired": r.fired,
                    "delay_ms": r.fault.delay_ms,
                    "after_messages": r.fault.after_messages,
                }
                for r in self._rules
            ]
