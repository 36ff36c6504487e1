"""A remote JWKS over https (issue 27): kgateway sends the fetch to the JWKS backend's cluster as it is, so TLS to
the host comes from a `BackendConfigPolicy` with `tls` (as kgateway's own e2e `jwt-remote.yaml` does), and a JWKS
backend in another namespace needs a ReferenceGrant from the GatewayExtension's namespace. Without the policy every
valid token gets 401; without the grant the route answers 500 (components/jwks_access.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from components.jwks_access import jwks_reference_grant_manifest, jwks_tls_policy_manifest
from components.protection_spec import jwks_access, protection_objects
from components.traffic_policy import JwksBackend, JwtProvider
from program.config import MappingConfigSource, load_settings
from program.crd_validation import BASIS, object_errors
from program.preflight import objects, preflight_problems
from tests.support.fake_aws import FakeAwsMocks
from tests.support.lifecycle import MotoDeployment, dev_config
from tools.engine import reveal, run_program, stack_config

UPSTREAM = Path(__file__).parent / "data" / "kgateway-testdata"
BCP = "kubernetes:gateway.kgateway.dev/v1alpha1:BackendConfigPolicy"
GRANT = "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant"
EXTENSION = "kubernetes:gateway.kgateway.dev/v1alpha1:GatewayExtension"
POLICY = "kubernetes:gateway.kgateway.dev/v1alpha1:TrafficPolicy"
JWT_LINES = ("v2.2", "v2.3", "v2.4", "main", "auto")
UPSTREAM_LINE = {"v2.2": "v2.2.x", "v2.3": "v2.3.x", "v2.4": "v2.4.x", "main": "main", "auto": "main"}


def remote(uri: str = "https://issuer.example.com/.well-known/jwks.json", **backend: Any) -> JwtProvider:
    return JwtProvider(
        name="default",
        issuer="https://issuer.example.com",
        jwks_uri=uri,
        jwks_backend=JwksBackend(**{"name": "issuer", "port": 443, **backend}),
    )


def protected_objects(line: str) -> list[dict[str, Any]]:
    config, secret_keys = stack_config("protected")
    settings = load_settings(MappingConfigSource({**config, "kgateway-lambda:kgatewayVersion": line}, set(secret_keys)))
    assert preflight_problems(settings) == [], line
    return [manifest for _, manifest in objects(settings)]


@pytest.mark.parametrize("line", JWT_LINES)
def test_the_protected_stacks_partner_route_fetches_its_jwks_over_verified_tls(line: str) -> None:
    emitted = protected_objects(line)
    (policy,) = [m for m in emitted if m["kind"] == "BackendConfigPolicy"]
    assert policy["metadata"] == {"name": "echo-partner-1ab380-jwt-jwks-tls", "namespace": "kgateway-system"}
    assert policy["spec"] == {
        "targetRefs": [{"group": "", "kind": "Service", "name": "issuer"}],
        "tls": {
            "wellKnownCACertificates": "System",
            "sni": "issuer.example.com",
            "verifySubjectAltNames": ["issuer.example.com"],
        },
    }
    assert object_errors(policy, line) == []
    # It targets exactly the Service the GatewayExtension fetches through (same name, kind and namespace).
    (extension,) = [m for m in emitted if m["kind"] == "GatewayExtension"]
    backend_ref = extension["spec"]["jwt"]["providers"][0]["jwks"]["remote"]["backendRef"]
    assert {k: backend_ref[k] for k in ("group", "kind", "name")} == policy["spec"]["targetRefs"][0]
    assert "namespace" not in backend_ref and extension["metadata"]["namespace"] == "kgateway-system"
    # No ReferenceGrant: the Service is in the route's own namespace.
    assert [m for m in emitted if m["kind"] == "ReferenceGrant"] == []


@pytest.mark.parametrize("line", JWT_LINES)
def test_the_tls_policy_has_the_shape_of_kgateways_own_jwt_remote_e2e(line: str) -> None:
    """kgateway's e2e input (tests/data/kgateway-testdata/<line>/jwt-remote.yaml) pairs its remote JWKS with a
    BackendConfigPolicy: same apiVersion and kind, targetRefs of the Service the extension names, `tls` set. It
    skips verification (a test IdP); we verify against the system CA set and the host name instead."""
    source = UPSTREAM / UPSTREAM_LINE[line] / "jwt-remote.yaml"
    documents = [d for d in yaml.safe_load_all(source.read_text()) if d]
    (upstream,) = [d for d in documents if d["kind"] == "BackendConfigPolicy"]
    (extension,) = [d for d in documents if d["kind"] == "GatewayExtension"]
    upstream_ref = extension["spec"]["jwt"]["providers"][0]["jwks"]["remote"]["backendRef"]
    assert upstream["spec"]["targetRefs"] == [{"group": "", "kind": upstream_ref["kind"], "name": upstream_ref["name"]}]
    (ours,) = [m for m in protected_objects(line) if m["kind"] == "BackendConfigPolicy"]
    assert (ours["apiVersion"], ours["kind"]) == (upstream["apiVersion"], upstream["kind"]), source
    assert set(ours["spec"]) == set(upstream["spec"]) == {"targetRefs", "tls"}, source
    assert [set(ref) for ref in ours["spec"]["targetRefs"]] == [set(ref) for ref in upstream["spec"]["targetRefs"]]
    assert "insecureSkipVerify" not in ours["spec"]["tls"]


def test_a_jwks_backend_in_another_namespace_gets_exactly_one_grant_and_its_tls_policy_there() -> None:
    provider = remote(namespace="auth")
    grant, tls = jwks_access(provider, "partner-jwt", "team-a")
    assert grant == {
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "team-a-partner-jwt-jwks", "namespace": "auth"},
        "spec": {
            "from": [{"group": "gateway.kgateway.dev", "kind": "GatewayExtension", "namespace": "team-a"}],
            "to": [{"group": "", "kind": "Service", "name": "issuer"}],
        },
    }
    # A BackendConfigPolicy targets objects of its own namespace only: it lives beside the Service.
    assert tls["metadata"] == {"name": "team-a-partner-jwt-jwks-tls", "namespace": "auth"}
    for line in JWT_LINES:
        assert object_errors(grant, line) == [] and object_errors(tls, line) == [], line
    backend = remote(kind="Backend", namespace="auth", port=None)
    backend_grant = jwks_reference_grant_manifest(name="g", policy_namespace="team-a", provider=backend)
    assert backend_grant is not None and backend_grant["spec"]["to"] == [
        {"group": "gateway.kgateway.dev", "kind": "Backend", "name": "issuer"}
    ]


def test_no_tls_policy_for_inline_keys_or_a_plain_http_jwks_and_no_grant_in_the_same_namespace() -> None:
    assert jwks_tls_policy_manifest(name="x", policy_namespace="a", provider=remote("http://issuer/jwks")) is None
    inline = JwtProvider(name="default", jwks_inline='{"keys": []}')
    assert jwks_access(inline, "echo-jwt", "team-a") == []
    assert jwks_reference_grant_manifest(name="x", policy_namespace="auth", provider=remote(namespace="auth")) is None
    (tls,) = jwks_access(remote("https://login.example.org:8443/keys"), "echo-jwt", "team-a")
    assert tls["spec"]["tls"]["sni"] == "login.example.org"  # the host, without the port


def test_the_component_creates_grant_and_tls_policy_before_the_extension_and_the_policy(tmp_path: Path) -> None:
    program = tmp_path / "protected.py"
    jwt = {
        "issuer": "https://issuer.example.com",
        "audiences": ["orders"],
        "jwks_uri": "https://issuer.example.com/jwks.json",
        "jwks_backend": {"name": "issuer", "port": 443, "namespace": "auth"},
    }
    program.write_text(
        "from components.protection import RouteProtection\n"
        f"RouteProtection('echo', {{'jwt': {jwt!r}}}, route_name='echo', namespace='team-a', kgateway_version='v2.3')\n"
    )
    run = run_program(FakeAwsMocks(), {"aws:region": "us-east-1"}, program=program)
    bcp, grant, extension, policy = (run.one(t) for t in (BCP, GRANT, EXTENSION, POLICY))
    assert {bcp.urn, grant.urn} <= set(extension.dependencies)
    assert {bcp.urn, grant.urn, extension.urn} <= set(policy.dependencies)
    assert reveal(grant.inputs)["metadata"]["namespace"] == "auth"
    assert reveal(bcp.inputs)["spec"]["tls"]["verifySubjectAltNames"] == ["issuer.example.com"]
    spec, provider, _, extension_name = protection_objects({"jwt": jwt}, "echo")
    assert provider is not None and extension_name == "echo-jwt" and spec.jwt_extension == "echo-jwt"


def test_every_jwt_line_ships_its_backend_config_policy_crd() -> None:
    for line in JWT_LINES:
        for crd in BASIS[line].policy_crds:
            assert (Path("program/crds") / f"{crd}-backendconfigpolicies.yaml").is_file(), (line, crd)


def test_day_two_the_jwks_tls_policy_and_grant_exist_whenever_the_extension_does(aws: boto3.Session) -> None:
    """In the deploy harness (the real program, the API server validating every object): JWT with a remote https
    JWKS in another namespace, then JWT off. At every write the extension's JWKS Service has its TLS policy and
    grant; they come before the extension and go after it."""
    deployment = MotoDeployment(aws)
    jwt = {
        "issuer": "https://issuer.example.com",
        "audiences": ["echo"],
        "jwksUri": "https://issuer.example.com/.well-known/jwks.json",
        "jwksBackend": {"name": "issuer", "namespace": "auth", "port": 443},
    }
    cluster = deployment.cluster
    original = cluster.create, cluster.delete

    def check() -> None:
        if cluster.of_kind("GatewayExtension"):
            assert ("auth", "kgateway-system-echo-jwt-jwks-tls") in cluster.of_kind("BackendConfigPolicy")
            assert ("auth", "kgateway-system-echo-jwt-jwks") in cluster.of_kind("ReferenceGrant")

    def create(*args: Any, **kwargs: Any) -> Any:
        result = original[0](*args, **kwargs)
        check()
        return result

    def delete(*args: Any, **kwargs: Any) -> Any:
        result = original[1](*args, **kwargs)
        check()
        return result

    cluster.create, cluster.delete = create, delete  # type: ignore[method-assign]
    deployment.up(dev_config(protection=json.dumps({"jwt": jwt})))
    kinds = [key[0].rsplit(":", 1)[1] for op, key in deployment.changes if op == "create"]
    assert kinds.index("BackendConfigPolicy") < kinds.index("GatewayExtension") < kinds.index("TrafficPolicy")
    assert kinds.index("ReferenceGrant") < kinds.index("GatewayExtension")
    deployment.up(dev_config(protection=json.dumps({"rateLimit": {"requestsPerSecond": 5}})))
    ops = [(op, key[0].rsplit(":", 1)[1]) for op, key in deployment.changes if op == "delete"]
    assert ops.index(("delete", "GatewayExtension")) < ops.index(("delete", "BackendConfigPolicy"))
    assert not cluster.of_kind("BackendConfigPolicy") and not cluster.of_kind("GatewayExtension")
