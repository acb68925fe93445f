"""Everything the stand-in knows: live sandboxes, gone ones, snapshots, idempotency keys and
call statistics, behind one condition variable that waiters (the reaper, long-polls) use."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import string
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from .sandbox import Sandbox, iso

ID_ALPHABET = string.ascii_lowercase + string.digits
MAX_GONE = 10000  # gone sandboxes remembered for /_standin/state and waits


def new_id(length: int) -> str:
    """A random lowercase alphanumeric id, like E2B's."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


@dataclass
class Snapshot:
    """A saved copy of a sandbox's files, usable as a template."""

    raw_id: str
    name: Optional[str]
    directory: str
    sandbox_id: str
    created_at: datetime
    namespace: str

    @property
    def snapshot_id(self) -> str:
        """`namespace/name:default` when named, else `raw:default` (E2B's SnapshotInfo rule)."""
        if self.name:
            return f"{self.namespace}/{self.name}:default"
        return f"{self.raw_id}:default"

    def info(self) -> dict:
        """SnapshotInfo JSON."""
        return {"snapshotID": self.snapshot_id, "names": [self.snapshot_id] if self.name else []}


class Registry:
    """The stand-in's state. All mutation happens under `cond`; slow work (killing, copying
    directories) happens outside it."""

    def __init__(self, data_dir: str, templates: set, namespace: str, envd_version: str,
                 clock: Callable[[], float] = time.monotonic):
        self.cond = threading.Condition()
        self.data_dir = data_dir
        self.templates = templates
        self.namespace = namespace
        self.envd_version = envd_version
        self.clock = clock
        self.sandboxes: dict[str, Sandbox] = {}
        self.gone: dict[str, dict] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.idempotency: dict[str, tuple[str, dict]] = {}
        self._idempotency_locks: dict[str, threading.Lock] = {}
        self.calls: Counter = Counter()
        self.last_headers: dict[str, dict] = {}
        self.stopping = False
        os.makedirs(os.path.join(data_dir, "sandboxes"), exist_ok=True)
        os.makedirs(os.path.join(data_dir, "snapshots"), exist_ok=True)

    # --- statistics -------------------------------------------------------------------------

    def record_call(self, route: str, headers: dict) -> None:
        """Count a request by route template and keep its (already redacted) headers."""
        with self.cond:
            self.calls[route] += 1
            self.last_headers[route] = headers

    # --- templates and snapshots ------------------------------------------------------------

    def find_snapshot(self, ref: str) -> Optional[Snapshot]:
        """The snapshot a template reference names: `ns/name:default`, `name`, `raw:default`, `raw`."""
        base = ref
        if ":" in base:
            base, tag = base.rsplit(":", 1)
            if tag != "default":
                return None
        if "/" in base:
            ns, base = base.split("/", 1)
            if ns != self.namespace:
                return None
        with self.cond:
            for snap in self.snapshots.values():
                if snap.raw_id == base or (snap.name is not None and snap.name == base):
                    return snap
        return None

    def resolve_template(self, ref: str):
        """(template id, alias, directory to copy or None), or None for an unknown template."""
        snap = self.find_snapshot(ref)
        if snap is not None:
            return snap.raw_id, snap.name, snap.directory
        name = ref[:-len(":default")] if ref.endswith(":default") else ref
        if "*" in self.templates or name in self.templates:
            return name, name, None
        return None

    def snapshot(self, sandbox_id: str, name: Optional[str]) -> Optional[Snapshot]:
        """Copy a live sandbox's files into a snapshot (a named one is replaced); None if gone."""
        with self.cond:
            sb = self.sandboxes.get(sandbox_id)
            if sb is None:
                return None
            existing = next((s for s in self.snapshots.values() if name and s.name == name), None)
            raw_id = existing.raw_id if existing else new_id(20)
        directory = os.path.join(self.data_dir, "snapshots", raw_id)
        staging = directory + ".new"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            shutil.copytree(sb.home, staging, symlinks=True, ignore_dangling_symlinks=True)
        except shutil.Error:
            pass  # files that vanished while copying, like a real live snapshot would miss them
        except FileNotFoundError:
            shutil.rmtree(staging, ignore_errors=True)
            return None  # the sandbox went while we copied
        shutil.rmtree(directory, ignore_errors=True)
        os.rename(staging, directory)
        snap = Snapshot(raw_id, name, directory, sandbox_id, datetime.now(timezone.utc), self.namespace)
        with self.cond:
            self.snapshots[raw_id] = snap
        return snap

    def delete_snapshot(self, ref: str) -> bool:
        """Delete the snapshot a template reference names; False when there is none."""
        snap = self.find_snapshot(ref)
        if snap is None:
            return False
        with self.cond:
            self.snapshots.pop(snap.raw_id, None)
        shutil.rmtree(snap.directory, ignore_errors=True)
        return True

    # --- sandboxes --------------------------------------------------------------------------

    def idempotency_lock(self, key: str) -> threading.Lock:
        """The lock serializing creates that share one Idempotency-Key."""
        with self.cond:
            return self._idempotency_locks.setdefault(key, threading.Lock())

    def create(self, template: tuple, timeout: int, metadata: dict, env_vars: dict) -> Sandbox:
        """A new running sandbox from a resolved template."""
        template_id, alias, source = template
        sandbox_id = "i" + new_id(19)
        home = os.path.join(self.data_dir, "sandboxes", sandbox_id)
        if source:
            shutil.copytree(source, home, symlinks=True)
        else:
            os.makedirs(home)
        now = datetime.now(timezone.utc)
        sb = Sandbox(
            sandbox_id=sandbox_id,
            template_id=template_id,
            alias=alias,
            home=home,
            metadata=dict(metadata),
            env_vars=dict(env_vars),
            access_token=secrets.token_urlsafe(24),
            started_at=now,
            end_at=now + timedelta(seconds=timeout),
            deadline=self.clock() + timeout,
            timeout=timeout,
        )
        with self.cond:
            self.sandboxes[sandbox_id] = sb
            self.cond.notify_all()
        return sb

    def get(self, sandbox_id: str) -> Optional[Sandbox]:
        """The live sandbox with this id, or None."""
        with self.cond:
            return self.sandboxes.get(sandbox_id)

    def live(self) -> list[Sandbox]:
        """Every live sandbox."""
        with self.cond:
            return list(self.sandboxes.values())

    def claim_group(self, owner: Sandbox, pgid: int) -> None:
        """A new process group `pgid` belongs to `owner`. The kernel reuses a number as a pid
        only once no group has it, so any other sandbox still listing it holds a stale entry
        that must not be killed later."""
        for sb in self.live():
            if sb is not owner:
                with sb.lock:
                    sb.groups.discard(pgid)

    def set_deadline(self, sandbox_id: str, seconds: int, only_extend: bool) -> Optional[Sandbox]:
        """Deadline = now + seconds (overwrite), or the later of that and the current one."""
        with self.cond:
            sb = self.sandboxes.get(sandbox_id)
            if sb is None:
                return None
            deadline = self.clock() + seconds
            if only_extend and deadline <= sb.deadline:
                return sb
            sb.deadline = deadline
            sb.end_at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
            sb.timeout = seconds
            self.cond.notify_all()  # the reaper re-plans its wake-up
            return sb

    def kill(self, sandbox_id: str, reason: str) -> bool:
        """Kill every process group of the sandbox, delete its directory, mark it gone."""
        with self.cond:
            sb = self.sandboxes.pop(sandbox_id, None)
        if sb is None:
            return False
        procs = sb.kill_everything()
        for p in procs:
            p.join(5.0)  # the pump reaps the main process right after SIGKILL
        shutil.rmtree(sb.home, ignore_errors=True)
        with self.cond:
            self.gone[sandbox_id] = {
                "sandboxID": sandbox_id,
                "reason": reason,
                "endedAt": iso(datetime.now(timezone.utc)),
                "killedPids": [p.pid for p in procs],
            }
            while len(self.gone) > MAX_GONE:
                self.gone.pop(next(iter(self.gone)))
            self.cond.notify_all()
        return True

    def due(self) -> tuple[list[str], Optional[float]]:
        """Ids past their deadline, and the next deadline after them (None if none). Call
        with `cond` held."""
        now = self.clock()
        due, nxt = [], None
        for sb in self.sandboxes.values():
            if sb.deadline <= now:
                due.append(sb.sandbox_id)
            elif nxt is None or sb.deadline < nxt:
                nxt = sb.deadline
        return due, nxt

    def wait_gone(self, sandbox_id: str, timeout: float) -> Optional[dict]:
        """Block until the sandbox is gone (at most `timeout` seconds); its record or None."""
        end = self.clock() + timeout
        with self.cond:
            while sandbox_id not in self.gone:
                left = end - self.clock()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return dict(self.gone[sandbox_id])

    def fingerprint(self, body: dict) -> str:
        """A canonical form of a create body, to tell a repeated request from a different one."""
        return json.dumps(body, sort_keys=True, separators=(",", ":"))
