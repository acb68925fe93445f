"""The control-plane service, `/modal.client.ModalClient/*`, on the wheel's own generated base.

This file serves what precedes a sandbox (hello, auth token, environment, app, secret, image);
api_sandboxes.py serves the sandbox calls. Every other RPC of the base answers UNIMPLEMENTED.
"""

import sys

from grpclib import GRPCError, Status

from api_sandboxes import SandboxCalls
from interceptor import fill_unimplemented
from modal_proto import api_grpc, api_pb2
from world import World

GS = api_pb2.GenericResult
CREATE_TYPES = (
    api_pb2.OBJECT_CREATION_TYPE_CREATE_IF_MISSING,
    api_pb2.OBJECT_CREATION_TYPE_CREATE_FAIL_IF_EXISTS,
    api_pb2.OBJECT_CREATION_TYPE_CREATE_OVERWRITE_IF_EXISTS,
    api_pb2.OBJECT_CREATION_TYPE_ANONYMOUS_OWNED_BY_APP,
    api_pb2.OBJECT_CREATION_TYPE_EPHEMERAL,
)

MAX_SECRET_KEYS = 200
MAX_SECRET_BYTES = 64 * 1024


class ApiService(SandboxCalls, fill_unimplemented(api_grpc.ModalClientBase)):
    """Modal's control plane, as much of it as the official client needs for sandboxes."""

    def __init__(self, world: World):
        self.world = world
        self._named_secrets: dict[tuple[str, str], str] = {}

    async def ClientHello(self, stream) -> None:
        await stream.recv_message()
        await stream.send_message(
            api_pb2.ClientHelloResponse(image_builder_version=self.world.config.image_builder_version)
        )

    async def AuthTokenGet(self, stream) -> None:
        await stream.recv_message()
        await stream.send_message(api_pb2.AuthTokenGetResponse(token=self.world.mint_auth_token()))

    async def EnvironmentGetOrCreate(self, stream) -> None:
        req = await stream.recv_message()
        env_id, name = self.world.environment(req.deployment_name, req.object_creation_type in CREATE_TYPES)
        settings = api_pb2.EnvironmentSettings(image_builder_version=self.world.config.image_builder_version)
        await stream.send_message(
            api_pb2.EnvironmentGetOrCreateResponse(
                environment_id=env_id, metadata=api_pb2.EnvironmentMetadata(name=name, settings=settings)
            )
        )

    async def AppGetOrCreate(self, stream) -> None:
        req = await stream.recv_message()
        if not req.app_name:
            raise GRPCError(Status.INVALID_ARGUMENT, "An app name is required.")
        env = req.environment_name or "main"
        app_id = self.world.app(req.app_name, env, req.object_creation_type in CREATE_TYPES)
        metadata = api_pb2.AppHandleMetadata(app_id=app_id, environment_name=env)
        await stream.send_message(api_pb2.AppGetOrCreateResponse(app_id=app_id, handle_metadata=metadata))

    async def SecretGetOrCreate(self, stream) -> None:
        req = await stream.recv_message()
        env = dict(req.env_dict)
        if len(env) > MAX_SECRET_KEYS or sum(len(k) + len(v) for k, v in env.items()) > MAX_SECRET_BYTES:
            raise GRPCError(Status.INVALID_ARGUMENT, "The secret is too large.")
        key = (req.environment_name or "main", req.deployment_name)
        if env:
            secret_id = self.world.secret(env)
            if req.deployment_name:
                self._named_secrets[key] = secret_id
        elif req.deployment_name and key in self._named_secrets:
            secret_id = self._named_secrets[key]
        else:
            raise GRPCError(Status.NOT_FOUND, f"Secret '{req.deployment_name}' was not found.")
        metadata = api_pb2.SecretMetadata(name=req.deployment_name)
        await stream.send_message(api_pb2.SecretGetOrCreateResponse(secret_id=secret_id, metadata=metadata))

    # Images: no real build. A new definition answers "not built yet" and the build the client
    # then joins has finished; the same definition again answers "built" at once.

    def _image_metadata(self) -> api_pb2.ImageMetadata:
        return api_pb2.ImageMetadata(
            python_version_info=sys.version.split()[0],
            image_builder_version=self.world.config.image_builder_version,
        )

    async def ImageGetOrCreate(self, stream) -> None:
        req = await stream.recv_message()
        if not req.image.dockerfile_commands and not req.image.base_images:
            raise GRPCError(Status.INVALID_ARGUMENT, "The image definition has no commands and no base image.")
        base_ids = [base.image_id for base in req.image.base_images if base.image_id]
        material = req.image.SerializeToString(deterministic=True) + req.builder_version.encode()
        image, existed = self.world.image_for_definition(material, list(req.image.dockerfile_commands), base_ids)
        resp = api_pb2.ImageGetOrCreateResponse(image_id=image.id)
        if existed and not req.force_build:
            resp.result.CopyFrom(GS(status=GS.GENERIC_STATUS_SUCCESS))
            resp.metadata.CopyFrom(self._image_metadata())
        await stream.send_message(resp)

    async def ImageJoinStreaming(self, stream) -> None:
        req = await stream.recv_message()
        image = self.world.image(req.image_id)
        log = api_pb2.TaskLogs(data=f"Image {image.id} is ready (no build in the stand-in).\n")
        await stream.send_message(api_pb2.ImageJoinStreamingResponse(task_logs=[log], entry_id="1"))
        await stream.send_message(
            api_pb2.ImageJoinStreamingResponse(
                result=GS(status=GS.GENERIC_STATUS_SUCCESS),
                metadata=self._image_metadata(),
                entry_id="2",
                eof=True,
            )
        )

    async def ImageFromId(self, stream) -> None:
        req = await stream.recv_message()
        image = self.world.image(req.image_id)
        await stream.send_message(api_pb2.ImageFromIdResponse(image_id=image.id, metadata=self._image_metadata()))

