"""What the program sends the engine, recorded on the way: the Kubernetes registrations and reads (URNs, aliases,
`deleteBeforeReplace`), and each request's provider package version. Fixtures in tests/conftest.py install them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from tools import engine
from tools.engine import current_registration, reveal


@dataclass(frozen=True)
class Request:
    """One registration or read as the engine receives it."""

    type: str
    urn: str
    alias_urns: tuple[str, ...]
    read_id: str | None
    delete_before_replace: bool | None  # None: not set (the provider's Diff decides)
    additional_secret_outputs: tuple[str, ...]
    namespace: str | None
    name: str | None

    @property
    def identity(self) -> tuple[str, str | None, str | None]:
        """What the API server holds one of: kind, namespace, name."""
        return (self.type, self.namespace, self.name)


def record_requests(monkeypatch: pytest.MonkeyPatch) -> list[Request]:
    """Every Kubernetes RegisterResource and ReadResource request the program sends from now on (until the
    monkeypatch is undone), with the engine's URNs: the list fills as the program runs."""
    seen: list[Request] = []
    register, read = pulumi_mocks.MockMonitor.RegisterResource, pulumi_mocks.MockMonitor.ReadResource

    def recording_register(self: pulumi_mocks.MockMonitor, request: Any) -> Any:
        registration = current_registration()
        if registration is not None and request.custom and request.type.startswith("kubernetes:"):
            inputs = reveal(pulumi.runtime.rpc.deserialize_properties(request.object, keep_unknowns=True))
            metadata = inputs.get("metadata") or {}
            seen.append(
                Request(
                    request.type,
                    registration.urn,
                    registration.alias_urns,
                    None,
                    request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None,
                    tuple(request.additionalSecretOutputs),
                    metadata.get("namespace"),
                    metadata.get("name"),
                )
            )
        return register(self, request)  # type: ignore[no-untyped-call]

    def recording_read(self: pulumi_mocks.MockMonitor, request: Any) -> Any:
        if request.type.startswith("kubernetes:"):
            namespace, _, name = request.id.rpartition("/")
            urn = f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{request.type}::{request.name}"
            seen.append(Request(request.type, urn, (), request.id, None, (), namespace or None, name))
        return read(self, request)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(pulumi_mocks.MockMonitor, "RegisterResource", recording_register)
    monkeypatch.setattr(pulumi_mocks.MockMonitor, "ReadResource", recording_read)
    return seen


class VersionRecordingMonitor(engine._RecordingMonitor):
    """The engine's recording monitor, also keeping each request's `version` field."""

    versions: list[tuple[str, str, str]]  # (what, type or token, version)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        if request.custom:
            type(self).versions.append(("register", request.type, request.version))
        return super().RegisterResource(request)

    def ReadResource(self, request: Any) -> Any:  # noqa: N802
        type(self).versions.append(("read", request.type, request.version))
        return super().ReadResource(request)

    def Invoke(self, request: Any) -> Any:  # noqa: N802
        type(self).versions.append(("invoke", request.tok, request.version))
        return super().Invoke(request)


def record_versions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """Each resource, read and invoke request's package version from now on: (what, type or token, version)."""
    versions: list[tuple[str, str, str]] = []
    monkeypatch.setattr(VersionRecordingMonitor, "versions", versions, raising=False)
    monkeypatch.setattr(engine, "_RecordingMonitor", VersionRecordingMonitor)
    return versions
