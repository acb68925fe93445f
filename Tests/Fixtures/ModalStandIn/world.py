"""Everything the stand-in knows: environments, apps, images, secrets and sandboxes, and the rules
(auth, ids, tokens, paging) both gRPC services share. Touched only on the event loop.
"""

import asyncio
import hashlib
import json
import os
import shutil
import tarfile
import time
from dataclasses import dataclass, field

from grpclib import GRPCError, Status

from faults import FaultBook
from interceptor import CallStats
from sandbox import DEFAULT_ENTRYPOINT, Sandbox, SandboxSpec
from tokens import TokenIssuer, new_id, new_task_id, new_v1_sandbox_id, new_v2_sandbox_id

MAX_SANDBOXES = 256  # running at once; more answers RESOURCE_EXHAUSTED, as a real quota would


@dataclass
class Config:
    token_id: str
    token_secret: str
    data_dir: str
    router_url: str = ""
    auth_token_ttl: int = 3600
    router_token_ttl: int = 3600
    list_page_size: int = 10
    output_cap: int = 16 * 1024 * 1024
    image_builder_version: str = "2025.06"


@dataclass
class Image:
    id: str
    kind: str  # "registry" (from a definition) or "snapshot" (a sandbox's files)
    commands: list[str] = field(default_factory=list)
    cmd: tuple[str, ...] | None = None  # the image's CMD: a sandbox's entrypoint when it names none
    archive: str | None = None
    source_sandbox: str | None = None


def image_cmd(commands: list[str]) -> tuple[str, ...] | None:
    """The last exec-form `CMD ["…", …]` of Dockerfile commands (Modal's images end with one)."""
    for line in reversed(commands):
        keyword, _, rest = line.strip().partition(" ")
        if keyword.upper() != "CMD":
            continue
        try:
            value = json.loads(rest)
        except ValueError:
            return None
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return tuple(value)
        return None
    return None


def _not_found(what: str) -> GRPCError:
    return GRPCError(Status.NOT_FOUND, f"{what} was not found.")


class World:
    """The stand-in's state; the servicers translate protobuf to and from these calls."""

    def __init__(self, config: Config):
        self.config = config
        self.tokens = TokenIssuer()
        self.stats = CallStats()
        self.faults = FaultBook()
        self.environments: dict[str, str] = {}
        self.apps: dict[tuple[str, str], str] = {}
        self.app_names: dict[str, tuple[str, str]] = {}
        self.images: dict[str, Image] = {}
        self._image_keys: dict[str, str] = {}
        self.secrets: dict[str, dict[str, str]] = {}
        self.sandboxes: dict[str, Sandbox] = {}
        self._by_task: dict[str, Sandbox] = {}
        self._last_created = 0.0
        os.makedirs(os.path.join(config.data_dir, "sandboxes"), exist_ok=True)
        os.makedirs(os.path.join(config.data_dir, "images"), exist_ok=True)

    # Auth

    def authorize_api(self, method: str, metadata) -> dict | None:
        token_id = metadata.get("x-modal-token-id")
        token_secret = metadata.get("x-modal-token-secret")
        if token_id != self.config.token_id or token_secret != self.config.token_secret:
            raise GRPCError(Status.UNAUTHENTICATED, "The token id or token secret is not valid.")
        # The client sends its short-lived auth token (AuthTokenGet) with every V2 sandbox call.
        if method.endswith("V2") or method == "SandboxGetCommandRouterAccess":
            claims = self.tokens.verify(metadata.get("x-modal-auth-token") or "", "auth")
            if claims is None:
                raise GRPCError(Status.UNAUTHENTICATED, "The x-modal-auth-token is missing, invalid or expired.")
            return claims
        return None

    def authorize_router(self, method: str, metadata) -> dict | None:
        header = metadata.get("authorization") or ""
        scheme, _, token = header.partition(" ")
        claims = self.tokens.verify(token, "router") if scheme == "Bearer" else None
        if claims is None:
            raise GRPCError(Status.UNAUTHENTICATED, "The command router token is missing, invalid or expired.")
        return claims

    def mint_auth_token(self) -> str:
        return self.tokens.mint("auth", self.config.token_id, self.config.auth_token_ttl)

    def router_access(self, sandbox: Sandbox) -> tuple[str, str]:
        jwt = self.tokens.mint("router", sandbox.task_id, self.config.router_token_ttl)
        return self.config.router_url, jwt

    # Environments, apps, secrets, images

    def environment(self, name: str, create: bool) -> tuple[str, str]:
        name = name or "main"
        if name not in self.environments:
            if not create and name != "main":
                raise _not_found(f"Environment '{name}'")
            self.environments[name] = new_id("en")
        return self.environments[name], name

    def app(self, name: str, environment: str, create: bool) -> str:
        env_name = environment or "main"
        key = (env_name, name)
        if key not in self.apps:
            if not create:
                raise _not_found(f"App '{name}'")
            app_id = new_id("ap")
            self.apps[key] = app_id
            self.app_names[app_id] = key
        return self.apps[key]

    def secret(self, env: dict[str, str]) -> str:
        secret_id = new_id("st")
        self.secrets[secret_id] = dict(env)
        return secret_id

    def secret_env(self, secret_id: str) -> dict[str, str]:
        if secret_id not in self.secrets:
            raise _not_found(f"Secret {secret_id}")
        return self.secrets[secret_id]

    def image_for_definition(self, key_material: bytes, commands: list[str], base_ids: list[str]) -> tuple[Image, bool]:
        """The image for a definition, and whether it already existed (then it counts as built)."""
        bases = [self.image(base_id) for base_id in base_ids]
        key = hashlib.sha256(key_material).hexdigest()
        if key in self._image_keys:
            return self.images[self._image_keys[key]], True
        cmd = image_cmd(commands)
        for base in bases:
            cmd = cmd or base.cmd
        image = Image(new_id("im"), "registry", commands=commands, cmd=cmd)
        self.images[image.id] = image
        self._image_keys[key] = image.id
        return image, False

    def image(self, image_id: str) -> Image:
        if image_id not in self.images:
            raise _not_found(f"Image {image_id}")
        return self.images[image_id]

    # Sandboxes

    async def create_sandbox(self, v2: bool, spec: SandboxSpec) -> Sandbox:
        if spec.app_id not in self.app_names:
            raise _not_found(f"App {spec.app_id}")
        image = self.image(spec.image_id)
        if not spec.entrypoint:
            spec.entrypoint = image.cmd or DEFAULT_ENTRYPOINT
        running = [s for s in self.sandboxes.values() if s.running]
        if len(running) >= MAX_SANDBOXES:
            raise GRPCError(Status.RESOURCE_EXHAUSTED, f"At most {MAX_SANDBOXES} sandboxes may run at once.")
        if spec.name and any(s.spec.name == spec.name and s.spec.app_id == spec.app_id for s in running):
            raise GRPCError(Status.ALREADY_EXISTS, f"A running sandbox named '{spec.name}' already exists.")
        sandbox_id = new_v2_sandbox_id() if v2 else new_v1_sandbox_id()
        directory = os.path.join(self.config.data_dir, "sandboxes", sandbox_id)
        os.makedirs(directory)
        if image.archive is not None:
            await asyncio.get_running_loop().run_in_executor(None, _extract, image.archive, directory)
        sandbox = Sandbox(sandbox_id, new_task_id(v2), v2, spec, directory, self.config.output_cap)
        # List pages are cut at `created_at`, so every sandbox gets a distinct one.
        sandbox.created_at = max(time.time(), self._last_created + 0.001)
        self._last_created = sandbox.created_at
        self.sandboxes[sandbox.id] = sandbox
        self._by_task[sandbox.task_id] = sandbox
        await sandbox.start(self._base_env(sandbox))
        return sandbox

    def _base_env(self, sandbox: Sandbox) -> dict[str, str]:
        # Never the stand-in's own environment: it may hold the token secret.
        return {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": sandbox.directory,
            "LANG": "C.UTF-8",
            "MODAL_SANDBOX_ID": sandbox.id,
            "MODAL_TASK_ID": sandbox.task_id,
        }

    def exec_env(self, sandbox: Sandbox, extra: dict[str, str]) -> dict[str, str]:
        return {**self._base_env(sandbox), **sandbox.spec.env, **extra}

    def sandbox(self, sandbox_id: str) -> Sandbox:
        found = self.sandboxes.get(sandbox_id)
        if found is None:
            raise _not_found(f"Sandbox {sandbox_id}")
        return found

    def task(self, task_id: str) -> Sandbox:
        found = self._by_task.get(task_id)
        if found is None:
            raise _not_found(f"Task {task_id}")
        return found

    def list_page(self, app_id: str, tags: dict[str, str], before: float, include_finished: bool) -> list[Sandbox]:
        """One page, newest first, of the sandboxes created strictly before `before` (0: no bound)."""
        matches = [
            s
            for s in self.sandboxes.values()
            if (include_finished or s.running)
            and (not app_id or s.spec.app_id == app_id)
            and all(s.tags.get(k) == v for k, v in tags.items())
            and (before <= 0 or s.created_at < before)
        ]
        matches.sort(key=lambda s: s.created_at, reverse=True)
        return matches[: self.config.list_page_size]

    async def snapshot(self, sandbox: Sandbox) -> Image:
        if not sandbox.running:
            raise GRPCError(Status.FAILED_PRECONDITION, f"Sandbox {sandbox.id} has already finished.")
        source = self.images.get(sandbox.spec.image_id)
        image = Image(new_id("im"), "snapshot", cmd=source.cmd if source else None, source_sandbox=sandbox.id)
        image.archive = os.path.join(self.config.data_dir, "images", f"{image.id}.tar")
        await asyncio.get_running_loop().run_in_executor(None, _archive, sandbox.directory, image.archive)
        self.images[image.id] = image
        return image

    async def shutdown(self) -> None:
        """Terminate every sandbox and wait for its processes to be reaped."""
        for sandbox in self.sandboxes.values():
            sandbox.terminate()
        for sandbox in self.sandboxes.values():
            await sandbox.entrypoint.aclose()
            for ex in sandbox.execs.values():
                await ex.process.aclose()

    def describe(self) -> dict:
        return {
            "environments": dict(self.environments),
            "apps": [{"id": app_id, "environment": env, "name": name} for app_id, (env, name) in self.app_names.items()],
            "images": [
                {"id": i.id, "kind": i.kind, "commands": i.commands, "cmd": i.cmd, "source_sandbox": i.source_sandbox}
                for i in self.images.values()
            ],
            "secrets": [{"id": sid, "keys": sorted(env)} for sid, env in self.secrets.items()],
            "sandboxes": [s.describe() for s in self.sandboxes.values()],
            **self.stats.describe(),
            "faults": self.faults.describe(),
        }


def _archive(directory: str, archive: str) -> None:
    with tarfile.open(archive, "w") as tar:
        for entry in sorted(os.listdir(directory)):
            tar.add(os.path.join(directory, entry), arcname=entry)


def _extract(archive: str, directory: str) -> None:
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(directory, filter="data")
            return
        # Debian 12's Python 3.11.2 predates extraction filters: check the members ourselves.
        for member in tar.getmembers():
            target = os.path.normpath(os.path.join(directory, member.name))
            inside = os.path.commonpath([target, directory]) == directory
            if not inside or member.isdev() or (member.issym() or member.islnk()) and os.path.isabs(member.linkname):
                raise ValueError(f"The snapshot archive holds an unsafe member: {member.name!r}.")
        tar.extractall(directory)


def remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
