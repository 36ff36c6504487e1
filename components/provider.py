"""The component package's provider: how stacks in other languages reach the components (`pulumi package add`).

Pulumi's Python SDK serves components with `ComponentProvider` behind `ProviderServicer`
(pulumi `sdk/python/lib/pulumi/provider/experimental/component.py` and `.../provider/server.py`). Two gaps there
lose what the caller sent, silently; this module closes both:

- **Inputs that arrive as Outputs.** The engine hands a component provider the caller's Outputs as output values
  (pulumi/pulumi `pkg/resource/plugin/provider_plugin.go`, `Construct`: `KeepOutputValues`), and the servicer
  wraps as an Output any input that is secret or has dependencies (`ProviderServicer._select_value`; a dict with
  one secret field becomes secret as a whole, `rpc.deserialize_property`). `ComponentProvider.map_input_properties`
  turns an object input that is not a dict into `{}`: a `backend` sent as a secret, or with a dependency, became
  the defaults (another namespace), and `provided` credentials became a generated IAM user. Here every input
  meets the schema: where it takes an Output (`accessKeyId`, `accountId`, `code`, ...) it gets one, keeping the
  secrecy and dependencies of what it came from; where the component needs the value (a name, a mode, an object
  whose fields choose what gets created) it gets the value, and the Output's dependencies go to the component's
  `depends_on`; a value not known yet there (at preview) is refused, naming the input.
- **The caller's options.** The engine sends the caller's `deleteBeforeReplace` and `additionalSecretOutputs`
  with Construct (pulumi/pulumi `pkg/resource/deploy/source_eval.go`, `RegisterResource`: `ConstructOptions`), and
  the Go SDK hands both to the component (pulumi/pulumi `sdk/go/pulumi/provider.go`, `construct`);
  `ProviderServicer._construct_options` drops them. Here both reach the component's ResourceOptions, so its
  registration carries them; and as the engine gives `additionalSecretOutputs` "no automatic effect on component
  resources" (`source_eval.go`, `checkComponentOption`), the outputs it names are made secret here, in what the
  caller gets back.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc.aio  # type: ignore[import-untyped]
import pulumi
from pulumi.output import Unknown
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType, TypeDefinition
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.provider import ConstructResult
from pulumi.provider.server import ProviderServicer
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from .validation import ComponentInputError, InputProblem


class _NotKnownYet:
    """How a value that is unknown at construct time is shown in a refusal."""

    def __repr__(self) -> str:
        return "(not known yet: an output of a resource still to be created or updated)"


@dataclass(frozen=True)
class ReceivedOutput:
    """An Output the caller sent, read (the input mapping is synchronous, reading an Output is not).

    `value` holds `Unknown` wherever the value is not known yet; `path` is where this part sits in `output`.
    """

    output: pulumi.Output[Any]
    value: Any
    secret: bool
    dependencies: tuple[pulumi.Resource, ...]
    path: tuple[str | int, ...] = ()

    @staticmethod
    async def read(output: pulumi.Output[Any]) -> ReceivedOutput:
        known = await output.is_known()
        value = await output.future(with_unknowns=True)
        return ReceivedOutput(
            output,
            Unknown() if not known and value is None else value,  # type: ignore[no-untyped-call]
            await output.is_secret(),
            tuple(await output.resources()),
        )

    def part(self, key: str | int) -> ReceivedOutput:
        return ReceivedOutput(self.output, self.value[key], self.secret, self.dependencies, (*self.path, key))

    def as_output(self) -> pulumi.Output[Any]:
        """This part as an Output of its own, as secret and with the dependencies of what it is part of."""
        if not self.path:
            return self.output
        path = self.path

        def pick(whole: Any) -> Any:
            for key in path:
                whole = whole[key]
            return whole

        return self.output.apply(pick)


async def receive(value: Any) -> Any:
    """`value` with every Output in it read (at any depth: the engine sends a field's Output inside its object)."""
    if isinstance(value, pulumi.Output):
        return await ReceivedOutput.read(value)
    if isinstance(value, dict):
        return {key: await receive(item) for key, item in value.items()}
    if isinstance(value, list):
        return [await receive(item) for item in value]
    return value


@dataclass
class _Settling:
    """What settling one component's inputs found: the Outputs' dependencies, and the inputs not known yet."""

    component: str
    dependencies: list[pulumi.Resource] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)


class ComponentPackage(ComponentProvider):
    """The SDK's component provider, given every input as the component takes it and the caller's options."""

    def construct(
        self,
        name: str,
        resource_type: str,
        inputs: pulumi.Inputs,
        options: pulumi.ResourceOptions | None = None,
    ) -> ConstructResult:
        self.validate_resource_type(self._name, resource_type)
        component = resource_type.rsplit(":", 1)[-1]
        definition = self._component_defs[component]
        settling = _Settling(component)
        settled = {
            key: self._settle(value, definition.inputs[key], key, settling) if key in definition.inputs else value
            for key, value in inputs.items()
        }
        options = options or pulumi.ResourceOptions()
        secret_outputs = list(options.additional_secret_outputs or [])
        for unknown in sorted(set(secret_outputs) - set(definition.outputs)):
            settling.problems.append(
                InputProblem(
                    "additionalSecretOutputs",
                    unknown,
                    f"must name outputs of {component}: {', '.join(definition.outputs)}",
                    next(iter(definition.outputs)),
                )
            )
        if settling.problems:  # before the component or any child is registered
            raise ComponentInputError(component, name, settling.problems)
        if settling.dependencies:
            options = pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(depends_on=settling.dependencies))
        result = super().construct(name, resource_type, settled, options)
        state = {
            key: pulumi.Output.secret(value) if key in secret_outputs else value for key, value in result.state.items()
        }
        return ConstructResult(result.urn, state)

    def _object_type(self, prop: PropertyDefinition) -> TypeDefinition | None:
        """The object type `prop` holds, if it holds one (not an enum, an archive or a resource)."""
        if not prop.ref:
            return None
        type_def = self.get_type_definition(prop)
        return type_def if type_def is not None and not type_def.enum else None

    def _takes_output(self, prop: PropertyDefinition) -> bool:
        """Whether the component takes an Output here (`pulumi.Input[...]`): the schema's non-`plain` inputs."""
        return not prop.plain and self._object_type(prop) is None

    def _outputs_allowed(self, prop: PropertyDefinition) -> str:
        """Where inside `prop` an Output is welcome (for the refusal of one that is not)."""
        type_def = self._object_type(prop if prop.items is None else prop.items)
        fields = [
            name for name, inner in (type_def.properties if type_def else {}).items() if self._takes_output(inner)
        ]
        return f"; only {', '.join(fields)} may be outputs" if fields else ""

    def _settle(self, value: Any, prop: PropertyDefinition, path: str, settling: _Settling) -> Any:  # noqa: PLR0911 (one return per kind of value)
        """`value` as the component takes it where the schema says `prop`: Outputs where it takes them, values
        where it needs them (a value not known yet is a problem, named by its `path`)."""
        if self._takes_output(prop):
            return value.as_output() if isinstance(value, ReceivedOutput) else value
        received = value if isinstance(value, ReceivedOutput) else None
        plain_value = received.value if received is not None else value
        if isinstance(plain_value, Unknown | pulumi.Output):  # an Output not read (served by another servicer)
            settling.problems.append(
                InputProblem(
                    path,
                    _NotKnownYet(),
                    "must be known when the component is constructed, at preview too: what it says decides which "
                    f"resources {settling.component} creates, so give it as a plain value{self._outputs_allowed(prop)}",
                    "a value written in the program, or a stack config value",
                )
            )
            return None
        if received is not None:
            settling.dependencies.extend(d for d in received.dependencies if d not in settling.dependencies)

        def inner(key: str | int) -> Any:
            return received.part(key) if received is not None else plain_value[key]

        object_type = self._object_type(prop)
        if object_type is not None and isinstance(plain_value, dict):
            return {
                key: self._settle(inner(key), object_type.properties[key], f"{path}.{key}", settling)
                if key in object_type.properties
                else plain_value[key]
                for key in plain_value
            }
        if prop.items is not None and isinstance(plain_value, list):
            return [self._settle(inner(i), prop.items, f"{path}[{i}]", settling) for i in range(len(plain_value))]
        if prop.additional_properties is not None and isinstance(plain_value, dict):
            return {
                key: self._settle(inner(key), prop.additional_properties, f"{path}.{key}", settling)
                for key in plain_value
            }
        if prop.type == PropertyType.INTEGER and isinstance(plain_value, float) and plain_value.is_integer():
            # Every number crosses the wire as a double; the SDK's mapping converts integers, then overwrites the
            # conversion with the double (`map_input_properties`: no `continue` after `int(input_val)`), so a
            # refusal would show 64.0 for the 64 the caller wrote.
            return int(plain_value)
        return plain_value


class ComponentPackageServicer(ProviderServicer):
    """The SDK's provider server, reading the caller's Outputs and passing on all of the caller's options."""

    @staticmethod
    async def _construct_inputs(inputs: Any, input_dependencies: Any) -> dict[str, pulumi.Input[Any]]:
        received = await ProviderServicer._construct_inputs(inputs, input_dependencies)
        return {key: await receive(value) for key, value in received.items()}

    @staticmethod
    def _construct_options(request: provider_pb2.ConstructRequest) -> pulumi.ResourceOptions:
        options = ProviderServicer._construct_options(request)
        # `optional bool deleteBeforeReplace` (pulumi/pulumi `proto/pulumi/provider.proto`): unset stays unset.
        if request.HasField("deleteBeforeReplace"):
            options.delete_before_replace = request.deleteBeforeReplace
        if request.additionalSecretOutputs:
            options.additional_secret_outputs = list(request.additionalSecretOutputs)
        return options


def serve_components(
    components: Sequence[type[pulumi.ComponentResource]], name: str, version: str, args: Sequence[str] | None = None
) -> None:
    """The plugin's main: serve the components until the engine is done with them.

    The plugin protocol: the language host runs the plugin with the engine's address as its first argument
    (pulumi/pulumi `sdk/python/cmd/pulumi-language-python/main.go`, `RunPlugin`), and the engine reads the port
    the plugin listens on from its first line of output (`sdk/go/common/resource/plugin/plugin.go`, `parsePort`).
    """
    parser = argparse.ArgumentParser(description=f"Pulumi component provider {name}")
    parser.add_argument("engine", help="the Pulumi engine's address")
    engine = parser.parse_known_args(sys.argv[1:] if args is None else list(args))[0].engine
    provider = ComponentPackage(list(components), name, None, version)

    async def serve() -> None:
        server = grpc.aio.server(options=_GRPC_CHANNEL_OPTIONS)
        servicer = ComponentPackageServicer(provider, [], engine_address=engine)
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        print(port, flush=True)
        await server.wait_for_termination()

    asyncio.run(serve())
