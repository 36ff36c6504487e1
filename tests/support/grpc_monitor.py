"""The engine's side of a Construct call: the SDK's mock monitor behind a real gRPC server, recording what the
provider registers, reads and logs as the engine would receive it (tests/test_construct.py drives it)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.protobuf import empty_pb2  # type: ignore[import-untyped]
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import engine_pb2_grpc, resource_pb2, resource_pb2_grpc

from program.config import PROJECT
from tests.support.fake_aws import FakeAwsMocks
from tools.engine import RegisteredResource

# The stack the monitor's URNs name (the one tests.support.programs.run_text runs a Python program as).
STACK = "test"


@dataclass
class Monitor:
    """The engine's side of a Construct: the SDK's mock monitor behind a gRPC server, recording what the provider
    registers as the engine receives it, and the engine's log service, recording what the provider logs."""

    mocks: FakeAwsMocks = field(default_factory=FakeAwsMocks)
    registrations: list[resource_pb2.RegisterResourceRequest] = field(default_factory=list, repr=False)
    resources: list[RegisteredResource] = field(default_factory=list, repr=False)
    reads: list[resource_pb2.ReadResourceRequest] = field(default_factory=list, repr=False)
    logs: list[str] = field(default_factory=list, repr=False)
    address: str = ""

    def registration(self, type_: str) -> resource_pb2.RegisterResourceRequest:
        found = [r for r in self.registrations if r.type == type_]
        assert len(found) == 1, [r.type for r in self.registrations]
        return found[0]

    def inputs(self, type_: str) -> dict[str, Any]:
        return dict(rpc.deserialize_properties(self.registration(type_).object, keep_unknowns=True))


class _MockMonitor(pulumi_mocks.MockMonitor):
    """URNs of this stack and project (the mock's come from the SDK's settings, which gRPC's threads lack)."""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent:
            type_ = parent.split("::")[2].rsplit("$", maxsplit=1)[-1] + "$" + type_
        return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


class _EngineServicer(engine_pb2_grpc.EngineServicer):
    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def Log(self, request: Any, context: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        self.monitor.logs.append(request.message)
        return empty_pb2.Empty()


class _MonitorServicer(resource_pb2_grpc.ResourceMonitorServicer):
    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self.mock = _MockMonitor(monitor.mocks)
        self.lock = threading.Lock()

    def SupportsFeature(self, request: Any, context: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        return resource_pb2.SupportsFeatureResponse(hasSupport=self.mock.SupportsFeature(request).hasSupport)  # type: ignore[no-untyped-call]

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.mock.GetDeploymentInfo(request)  # type: ignore[no-untyped-call]

    def RegisterResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        response = self.mock.RegisterResource(request)  # type: ignore[no-untyped-call]
        with self.lock:
            self.monitor.registrations.append(request)
            self.monitor.resources.append(
                RegisteredResource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent_urn=request.parent,
                    inputs=rpc.deserialize_properties(request.object, keep_unknowns=True),
                    dependencies=list(request.dependencies),
                    custom=request.custom,
                )
            )
        return response

    def ReadResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        with self.lock:
            self.monitor.reads.append(request)
        return self.mock.ReadResource(request)  # type: ignore[no-untyped-call]

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.mock.RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    def Invoke(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.mock.Invoke(request)  # type: ignore[no-untyped-call]

    def RegisterResourceHook(self, request: Any, context: Any) -> Any:  # noqa: N802 (the components' create hook)
        return self.mock.RegisterResourceHook(request)  # type: ignore[no-untyped-call]

    def RegisterPackage(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.mock.RegisterPackage(request)  # type: ignore[no-untyped-call]

    def SignalAndWaitForShutdown(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.mock.SignalAndWaitForShutdown(request)  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def monitor_server() -> Iterator[Monitor]:
    """The monitor behind a gRPC server on a free loopback port, for as long as the context lasts."""
    found = Monitor()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_MonitorServicer(found), server)
    engine_pb2_grpc.add_EngineServicer_to_server(_EngineServicer(found), server)
    found.address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    server.start()
    try:
        yield found
    finally:
        server.stop(None).wait()
