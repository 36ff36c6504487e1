"""The construct path as other languages' stacks take it: the engine's Construct call, over gRPC, to the provider
server (`ComponentPackageServicer`, the SDK's `ProviderServicer` underneath), which registers the component and
its children with a resource monitor over gRPC. Here the monitor is the SDK's mock monitor behind a real gRPC
server, so every registration is seen as the engine would receive it.

The requests are made as the engine makes them (pulumi/pulumi `pkg/resource/plugin/provider_plugin.go`,
`Construct`): inputs with the caller's Outputs kept as output values (`KeepOutputValues`, the Python server
answers Configure with `acceptOutputs`), their dependencies also in `inputDependencies`, and the caller's options
(`deleteBeforeReplace` only when the caller set it: `optional bool` in `proto/pulumi/provider.proto`).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import grpc.aio  # type: ignore[import-untyped]
import pytest
from google.protobuf import json_format, struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime import rpc
from pulumi.runtime.proto import (
    provider_pb2,
    provider_pb2_grpc,
)

from components.provider import ComponentPackageServicer
from components.tokens import PACKAGE
from program.config import PROJECT
from tests.support import TESTS
from tests.support.grpc_monitor import STACK, Monitor
from tests.support.programs import run_text
from tools.engine import RegisteredResource, redact, reveal
from tools.schema import package_provider

ROOT = TESTS.parent
TOKEN = f"{PACKAGE}:index:"
COMPOSITE = f"{TOKEN}LambdaGatewayRoute"
BACKEND = "kubernetes:gateway.kgateway.dev/v1alpha1:Backend"
SECRET = "kubernetes:core/v1:Secret"
# The provider the plugin serves, analysed once (the SDK reads the components' source for their docstrings).
# The caller's resource a whole-object input comes from (a namespace its program creates).
NAMESPACE_URN = f"urn:pulumi:{STACK}::{PROJECT}::kubernetes:core/v1:Namespace::team-x"


# --- the wire form of inputs -----------------------------------------------------------------------------------


def output_value(value: Any = None, *, known: bool = True, secret: bool = False, dependencies: list[str]) -> Any:
    """An Output as the engine hands it to a provider that accepts outputs (pulumi/pulumi `sdk/go/common/resource/
    plugin/rpc.go`, `MarshalPropertyValue`: the output value signature, `value` only when known)."""
    wire: dict[str, Any] = {rpc._special_sig_key: rpc._special_output_value_sig, "dependencies": dependencies}
    if known:
        wire["value"] = value
    if secret:
        wire["secret"] = True
    return wire


def archive(path: str) -> dict[str, str]:
    return {rpc._special_sig_key: rpc._special_archive_sig, "path": path}


def construct_request(
    monitor: Monitor,
    inputs: dict[str, Any],
    *,
    dependencies: dict[str, list[str]] | None = None,
    dry_run: bool = False,
    **options: Any,
) -> provider_pb2.ConstructRequest:
    struct = struct_pb2.Struct()
    struct.update(inputs)
    return provider_pb2.ConstructRequest(
        project=PROJECT,
        stack=STACK,
        organization="organization",
        monitorEndpoint=monitor.address,
        type=COMPOSITE,
        name="echo",
        inputs=struct,
        inputDependencies={
            key: provider_pb2.ConstructRequest.PropertyDependencies(urns=urns)
            for key, urns in (dependencies or {}).items()
        },
        config={"aws:region": "us-east-1"},
        dryRun=dry_run,
        accepts_output_values=True,
        **options,
    )


class ConstructError(Exception):
    """The provider's refusal of a Construct, as the engine gets it (the gRPC status' details)."""


async def _call(request: provider_pb2.ConstructRequest, address: str | None) -> provider_pb2.ConstructResponse:
    server = None
    if address is None:  # this process serves the provider, on a port of its own
        server = grpc.aio.server()
        servicer = ComponentPackageServicer(package_provider(), [], engine_address=request.monitorEndpoint)
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
        address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
        await server.start()
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            response: provider_pb2.ConstructResponse = await provider_pb2_grpc.ResourceProviderStub(channel).Construct(
                request, timeout=60
            )
            return response
    finally:
        if server is not None:
            await server.stop(None)


def construct(request: provider_pb2.ConstructRequest, address: str | None = None) -> provider_pb2.ConstructResponse:
    """The engine's Construct call, over gRPC (to `address`, else to a server in this process); its refusal is raised
    as `ConstructError` with the message the engine would show."""

    def run() -> provider_pb2.ConstructResponse:
        loop = asyncio.new_event_loop()  # not the thread's loop: the mock engine's runs keep theirs
        try:
            return loop.run_until_complete(_call(request, address))
        except grpc.aio.AioRpcError as error:
            raise ConstructError(str(error.details())) from None
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    return contextvars.Context().run(run)  # the SDK's settings are context variables: none leak into other tests


def state(response: provider_pb2.ConstructResponse) -> dict[str, Any]:
    return dict(rpc.deserialize_properties(response.state, keep_unknowns=True))


# --- the components through the server ---------------------------------------------------------------------------

CONSTRUCT_INPUTS = {  # camelCase, plain values: what the engine hands the provider for the TypeScript example
    "function": {"functionName": "echo", "code": archive("./echo"), "architecture": "arm64", "memorySize": 256.0},
    "backend": {"namespace": "kgateway-system", "kgatewayVersion": "v2.4", "invocationMode": "Sync"},
    "routes": [{"path": "/echo", "hostnames": ["api.example.com"], "methods": ["POST"]}],
    "credentials": {"mode": "generated", "rotation": "2026-11"},
}
PYTHON_PROGRAM = """
import pulumi
from components import LambdaGatewayRoute
code = pulumi.FileArchive("./echo")
LambdaGatewayRoute("echo", {
    "function": {"function_name": "echo", "code": code, "architecture": "arm64", "memory_size": 256},
    "backend": {"namespace": "kgateway-system", "kgateway_version": "v2.4", "invocation_mode": "Sync"},
    "routes": [{"path": "/echo", "hostnames": ["api.example.com"], "methods": ["POST"]}],
    "credentials": {"mode": "generated", "rotation": "2026-11"},
})
"""
FUNCTION = {"functionName": "echo", "code": archive("./echo")}


def children(resources: list[RegisteredResource]) -> list[tuple[str, str, str, str]]:
    """Every registration as type, name, parent's type and inputs (secrets and unknowns redacted)."""
    types = {r.urn: r.type for r in resources}
    return sorted(
        (r.type, r.name, types.get(r.parent_urn, ""), json.dumps(redact(r.inputs), sort_keys=True)) for r in resources
    )


def test_construct_builds_what_the_python_program_builds(tmp_path: Path, monitor: Monitor) -> None:
    direct = run_text(tmp_path, "direct", PYTHON_PROGRAM)
    response = construct(construct_request(monitor, CONSTRUCT_INPUTS))
    assert response.urn == f"urn:pulumi:{STACK}::{PROJECT}::{COMPOSITE}::echo"
    assert children(monitor.resources) == children(direct)
    function = next(r for r in monitor.resources if r.type == "aws:lambda/function:Function")
    assert function.inputs["memorySize"] == 256 and function.inputs["architectures"] == ["arm64"]
    assert state(response)["backendName"] == "echo"


def test_construct_refuses_bad_inputs_with_their_names(monitor: Monitor) -> None:
    bad = {"function": {"functionName": "bad name!", "code": archive("x"), "memorySize": 64}, "routes": [{"path": "x"}]}
    with pytest.raises(ConstructError, match=r"LambdaGatewayRoute 'echo': invalid inputs \(3 problem") as failure:
        construct(construct_request(monitor, bad))
    text = str(failure.value)
    assert "function.functionName = 'bad name!'" in text
    assert "function.memorySize = 64: must be a whole number from 128 to 10240" in text
    assert "routes[0].path = 'x': must be an absolute path" in text
    assert [r.type for r in monitor.registrations] == []  # refused before anything, the component included


def test_a_whole_output_object_reaches_the_component_with_its_values_and_dependency(monitor: Monitor) -> None:
    """`backend` as the engine sends a secret Output with a dependency: the Backend takes its namespace and pinned
    version (no CRD read), and the component waits for what it came from."""
    backend = {"namespace": "team-x", "kgatewayVersion": "v2.0", "accountId": "210987654321"}
    inputs = {"function": FUNCTION, "backend": output_value(backend, secret=True, dependencies=[NAMESPACE_URN])}
    construct(construct_request(monitor, inputs, dependencies={"backend": [NAMESPACE_URN]}))
    manifest = reveal(monitor.inputs(BACKEND))
    assert manifest["metadata"]["namespace"] == "team-x"
    assert manifest["spec"]["type"] == "AWS"  # v2.0's shape: spec.type is required there
    # accountId takes an Output: it stays secret (the names and the shape cannot, the component needs them).
    assert manifest["spec"]["aws"]["accountId"] == "210987654321"
    assert "210987654321" not in json.dumps(redact(monitor.inputs(BACKEND)))
    assert not monitor.reads  # a pinned version reads no CRD
    assert reveal(monitor.inputs(SECRET))["metadata"]["namespace"] == "team-x"
    assert NAMESPACE_URN in monitor.registration(COMPOSITE).dependencies


def test_whole_secret_credentials_stay_provided_and_secret(monitor: Monitor) -> None:
    """`credentials` with its keys secret arrives secret as a whole (the SDK lifts a field's secrecy to its object):
    the keys reach the Secret, still secret, and no IAM user is made."""
    credentials = {"mode": "provided", "accessKeyId": "AKIAEXAMPLEKEYID0001", "secretAccessKey": "wJalr/EXAMPLE/KEY"}
    inputs = {"function": FUNCTION, "credentials": output_value(credentials, secret=True, dependencies=[])}
    construct(construct_request(monitor, inputs))
    types = [r.type for r in monitor.registrations]
    assert "aws:iam/user:User" not in types and "aws:iam/accessKey:AccessKey" not in types
    data = monitor.inputs(SECRET)["stringData"]
    assert redact(data) == "[secret]"
    assert reveal(data) == {"accessKey": "AKIAEXAMPLEKEYID0001", "secretKey": "wJalr/EXAMPLE/KEY"}
    assert monitor.logs and not [m for m in monitor.logs if "AKIAEXAMPLE" in m or "EXAMPLE/KEY" in m]


def test_a_whole_object_unknown_at_preview_is_refused_naming_it(monitor: Monitor) -> None:
    """At preview an object from a resource still to be created is unknown; its fields choose what gets created, so
    the construct stops with the input's name and what to do, before anything is registered."""
    inputs = {"function": FUNCTION, "backend": output_value(known=False, dependencies=[NAMESPACE_URN])}
    with pytest.raises(ConstructError) as failure:
        construct(construct_request(monitor, inputs, dependencies={"backend": [NAMESPACE_URN]}, dry_run=True))
    text = str(failure.value)
    assert "LambdaGatewayRoute 'echo': invalid inputs (1 problem(s))" in text
    assert "backend = (not known yet" in text
    assert "must be known when the component is constructed, at preview too" in text
    assert "; only accountId, " in text  # where an Output is welcome instead
    assert monitor.registrations == []


@pytest.mark.parametrize("delete_before_replace", [True, False, None])
def test_the_callers_options_reach_the_component(monitor: Monitor, delete_before_replace: bool | None) -> None:
    """`deleteBeforeReplace` and `additionalSecretOutputs` as the caller set them, on the component's registration;
    the outputs named secret come back secret (the engine leaves that to the component)."""
    options: dict[str, Any] = {"additionalSecretOutputs": ["functionArn"]}
    if delete_before_replace is not None:
        options["deleteBeforeReplace"] = delete_before_replace
    response = construct(construct_request(monitor, {"function": FUNCTION}, **options))
    component = monitor.registration(COMPOSITE)
    defined = component.deleteBeforeReplace if component.deleteBeforeReplaceDefined else None
    assert defined == delete_before_replace
    assert list(component.additionalSecretOutputs) == ["functionArn"]
    outputs = json_format.MessageToDict(response.state)
    assert outputs["functionArn"][rpc._special_sig_key] == rpc._special_secret_sig
    assert outputs["functionName"] == "echo"


def test_an_unknown_secret_output_name_is_refused(monitor: Monitor) -> None:
    with pytest.raises(ConstructError) as failure:
        construct(construct_request(monitor, {"function": FUNCTION}, additionalSecretOutputs=["functionArm"]))
    assert "additionalSecretOutputs = 'functionArm': must name outputs of LambdaGatewayRoute: functionName," in str(
        failure.value
    )
    assert monitor.registrations == []


def test_the_plugin_serves_this_provider(monitor: Monitor) -> None:
    """provider/__main__.py as Pulumi runs it (the engine's address first; the port on the first line of output),
    answering a Construct with the caller's deleteBeforeReplace on the component."""
    plugin = subprocess.Popen(
        [sys.executable, str(ROOT / "provider"), monitor.address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert plugin.stdout is not None
        port = int(plugin.stdout.readline())
        construct(construct_request(monitor, {"function": FUNCTION}, deleteBeforeReplace=True), f"127.0.0.1:{port}")
    finally:
        plugin.kill()
        plugin.communicate(timeout=30)
    component = monitor.registration(COMPOSITE)
    assert (component.deleteBeforeReplaceDefined, component.deleteBeforeReplace) == (True, True)


def test_a_plain_input_from_an_output_gets_its_value_and_the_dependency(monitor: Monitor) -> None:
    """`existingFunction` from another resource's output (known at update): the component needs the name itself
    (it parses an ARN for the account and region), so it gets the value, and waits for where it came from."""
    function_urn = f"urn:pulumi:{STACK}::{PROJECT}::aws:lambda/function:Function::made-elsewhere"
    inputs = {"existingFunction": output_value("orders", dependencies=[function_urn])}
    construct(construct_request(monitor, inputs, dependencies={"existingFunction": [function_urn]}))
    assert reveal(monitor.inputs(BACKEND))["spec"]["aws"]["lambda"]["functionName"] == "orders"
    assert function_urn in monitor.registration(COMPOSITE).dependencies
