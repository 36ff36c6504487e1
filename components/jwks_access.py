"""What Envoy needs to fetch a remote JWKS: TLS to the JWKS host, and a grant to reach its Service in another
namespace. Pure functions from plain values to manifests, like components/traffic_policy.py (whose `JwtProvider`
they read).

- kgateway sends the JWKS fetch to the cluster of the provider's `backendRef` as it is and uses the URL only for
  the request's path and Host (kgateway-dev/kgateway `pkg/kgateway/extensions2/plugins/trafficpolicy/jwt.go`
  `translateJwks`, 354c0f6): nothing there originates TLS. An `https` JWKS is therefore fetched in plain text unless
  a `BackendConfigPolicy` with `tls` targets that Service or Backend, which is what kgateway's own e2e does
  (`test/e2e/features/jwt/testdata/jwt-remote.yaml`, v2.2.x 207dff9 to main 354c0f6; a copy is in
  tests/data/kgateway-testdata). Without it the fetch fails and every token is refused (401).
- The policy verifies the host's certificate with the system CA set (`wellKnownCACertificates: System`) and its
  name (`verifySubjectAltNames`), and sends the host as SNI (`backendconfigpolicy/tls.go` `translateTLSConfig`,
  `buildValidationContext`): without a name to match, Envoy accepts any certificate the CA set signed.
- A `BackendConfigPolicy` targets objects of its own namespace only (its CRD's `targetRefs`), so it is made in the
  JWKS backend's namespace.
- A GatewayExtension's `backendRef` to another namespace is resolved only if a ReferenceGrant there admits it
  (`pkg/krtcollections/policy.go` `BackendIndex.GetBackendFromRef`: from the GatewayExtension's group, kind and
  namespace); otherwise the provider is dropped and the route answers 500.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .gateway_api_objects import REFERENCE_GRANT_API_VERSION
from .kgateway_api import BACKEND_API_VERSION, BACKEND_GROUP
from .traffic_policy import JwtProvider

BACKEND_CONFIG_POLICY_KIND = "BackendConfigPolicy"
GATEWAY_EXTENSION_KIND = "GatewayExtension"
# The system CA set (the CRD's `wellKnownCACertificates` pattern allows `System` or a ConfigMap reference).
SYSTEM_CA = "System"


def _target(provider: JwtProvider) -> dict[str, str]:
    backend = provider.jwks_backend
    assert backend is not None
    return {"group": "" if backend.kind == "Service" else BACKEND_GROUP, "kind": backend.kind, "name": backend.name}


def jwks_host(provider: JwtProvider) -> str | None:
    """The host a remote JWKS is fetched from over TLS (None: inline keys, or a plain-http URL)."""
    if provider.jwks_uri is None or provider.jwks_backend is None:
        return None
    url = urlsplit(provider.jwks_uri)
    return url.hostname if url.scheme == "https" else None


def jwks_namespace(provider: JwtProvider, policy_namespace: str) -> str:
    """Where the JWKS backend lives (the route's namespace unless the user named another)."""
    backend = provider.jwks_backend
    return backend.namespace if backend is not None and backend.namespace else policy_namespace


def jwks_tls_policy_manifest(*, name: str, policy_namespace: str, provider: JwtProvider) -> dict[str, Any] | None:
    """The `BackendConfigPolicy` that makes Envoy fetch an `https` JWKS over verified TLS; None when none is needed
    (inline keys, or an `http` URL, which is fetched in plain text as written)."""
    host = jwks_host(provider)
    if host is None:
        return None
    return {
        "apiVersion": BACKEND_API_VERSION,
        "kind": BACKEND_CONFIG_POLICY_KIND,
        "metadata": {"name": name, "namespace": jwks_namespace(provider, policy_namespace)},
        "spec": {
            "targetRefs": [_target(provider)],
            "tls": {"wellKnownCACertificates": SYSTEM_CA, "sni": host, "verifySubjectAltNames": [host]},
        },
    }


def jwks_reference_grant_manifest(*, name: str, policy_namespace: str, provider: JwtProvider) -> dict[str, Any] | None:
    """The `ReferenceGrant` that lets the GatewayExtensions of `policy_namespace` reach exactly the JWKS Service or
    Backend in its own namespace; None when it is in the policy's namespace (or there is none)."""
    if provider.jwks_backend is None or jwks_namespace(provider, policy_namespace) == policy_namespace:
        return None
    return {
        "apiVersion": REFERENCE_GRANT_API_VERSION,
        "kind": "ReferenceGrant",
        "metadata": {"name": name, "namespace": jwks_namespace(provider, policy_namespace)},
        "spec": {
            "from": [{"group": BACKEND_GROUP, "kind": GATEWAY_EXTENSION_KIND, "namespace": policy_namespace}],
            "to": [_target(provider)],
        },
    }
