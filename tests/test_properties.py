"""Property-based: over the config space, for every supported version, what we emit is what the API server
accepts (strict fields + CEL), and what we refuse is refused before any resource exists."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.kgateway_api import KGATEWAY_VERSIONS
from components.validation import FUNCTION_NAME_RE
from program.config import ConfigError, MappingConfigSource, load_settings
from tests.support.fake_aws import FakeAwsMocks
from tests.support.kgateway_reference import CHECKED_KINDS, object_errors
from tools.engine import ProgramRun, RegisteredResource, reveal, run_program, stack_config

function_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,15}", fullmatch=True)
paths = st.from_regex(r"/([a-z0-9-]{1,8}(/[a-z0-9._~]{1,6}){0,2})?", fullmatch=True).filter(
    lambda p: not p.endswith(("/.", "/..")) and "/./" not in p and "/../" not in p
)


@st.composite
def stack_configs(draw: st.DrawFn, version: str) -> dict[str, Any]:
    has = KGATEWAY_VERSIONS[version]
    names = draw(
        st.lists(
            function_names, min_size=1, max_size=3, unique_by=lambda n: re.sub("[^a-z0-9]+", "-", n.lower()).strip("-")
        )
    )
    names = [n for n in names if re.sub("[^a-z0-9]+", "-", n.lower()).strip("-")]
    functions = []
    for name in names:
        entry: dict[str, Any] = {"name": name}
        alias = draw(st.sampled_from([None, "live", "prod_1"]))
        if alias:
            entry["alias"] = alias
        else:
            qualifier = draw(st.sampled_from([None, "$LATEST", "3", "blue"]))
            if qualifier:
                entry["qualifier"] = qualifier
        entry["invocationMode"] = draw(st.sampled_from(["Sync", "Async"]))
        if has.has_payload_transform_mode and draw(st.booleans()):
            entry["payloadTransformMode"] = draw(st.sampled_from(["None", "Envoy"]))
        functions.append(entry)
    routes, seen = [], set()
    for name in names:
        for _ in range(draw(st.integers(1, 2))):
            path = draw(paths)
            match = draw(st.sampled_from(["PathPrefix", "Exact"]))
            methods = draw(st.lists(st.sampled_from(["GET", "POST", "PUT"]), unique=True, max_size=2))
            key = (path, match, tuple(sorted(methods)))
            if key in seen:
                continue
            seen.add(key)
            route: dict[str, Any] = {"function": name, "path": path, "match": match}
            if methods:
                route["methods"] = methods
            if draw(st.booleans()):
                route["hostnames"] = [draw(st.sampled_from(["api.example.com", "*.example.org"]))]
            if draw(st.booleans()):
                route["headers"] = {"x-env": draw(st.sampled_from(["dev", "prod"]))}
            if draw(st.booleans()):
                route["namespace"] = "team-a"
            routes.append(route)
    modes = ["generated", "irsa"] + (["assume-role"] if has.has_assume_role_auth else [])
    config = {
        "kgatewayVersion": version,
        "functions": json.dumps(functions),
        "routes": json.dumps(routes),
        "credentialsMode": draw(st.sampled_from(modes)),
        "waitForAcceptance": draw(st.sampled_from(["true", "false"])),
    }
    if config["credentialsMode"] == "irsa":
        config["oidcProvider"] = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC123"
    if config["credentialsMode"] == "assume-role":
        config["ambientRoleArn"] = "arn:aws:iam::123456789012:role/kgateway-proxy"
    return config


def covering_config(version: str) -> dict[str, Any]:
    """One config holding every class of input the strategy draws from, for this version: an alias, each kind of
    qualifier, both invocation modes and payload modes, every match type with methods, hostnames (plain and
    wildcard), headers, another namespace; the credentials mode and the wait differ by version so that every mode
    of each version's list is covered across the versions."""
    has = KGATEWAY_VERSIONS[version]
    envoy = {"payloadTransformMode": "Envoy"} if has.has_payload_transform_mode else {}
    passthrough = {"payloadTransformMode": "None"} if has.has_payload_transform_mode else {}
    functions = [
        {"name": "Echo_1", "alias": "prod_1", "invocationMode": "Sync", **envoy},
        {"name": "b", "qualifier": "$LATEST", "invocationMode": "Async", **passthrough},
        {"name": "c-2", "qualifier": "3"},
        {"name": "d", "qualifier": "blue"},
    ]
    routes = [
        {"function": "Echo_1", "path": "/", "match": "PathPrefix", "methods": ["GET", "POST"]},
        {"function": "Echo_1", "path": "/a-1/b.c/~d", "match": "Exact", "hostnames": ["api.example.com"]},
        {"function": "b", "path": "/b", "match": "PathPrefix", "hostnames": ["*.example.org"], "namespace": "team-a"},
        {"function": "c-2", "path": "/c", "match": "Exact", "methods": ["PUT"], "headers": {"x-env": "prod"}},
        {"function": "d", "path": "/d", "match": "PathPrefix", "namespace": "team-a", "headers": {"x-env": "dev"}},
    ]
    index = list(KGATEWAY_VERSIONS).index(version)
    modes = ["generated", "irsa"] + (["assume-role"] if has.has_assume_role_auth else [])
    config = {
        "kgatewayVersion": version,
        "functions": json.dumps(functions),
        "routes": json.dumps(routes),
        "credentialsMode": modes[index % len(modes)],
        "waitForAcceptance": "true" if index % 2 else "false",
    }
    if config["credentialsMode"] == "irsa":
        config["oidcProvider"] = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC123"
    if config["credentialsMode"] == "assume-role":
        config["ambientRoleArn"] = "arn:aws:iam::123456789012:role/kgateway-proxy"
    return config


def patched(run: ProgramRun, patch: RegisteredResource) -> dict[str, Any]:
    """The object a Patch resource applies to, with the patch's annotations merged in (as the API server holds it)."""
    change = reveal(patch.inputs)
    target = next(
        reveal(r.inputs)
        for r in run.by_type(patch.type.removesuffix("Patch"))
        if reveal(r.inputs)["metadata"]["name"] == change["metadata"]["name"]
        and reveal(r.inputs)["metadata"]["namespace"] == change["metadata"]["namespace"]
    )
    annotations = {**(target["metadata"].get("annotations") or {}), **change["metadata"]["annotations"]}
    merged: dict[str, Any] = {**target, "metadata": {**target["metadata"], "annotations": annotations}}
    return merged


def assert_every_object_accepted(version: str, overrides: dict[str, Any]) -> None:
    config, secret_keys = stack_config("dev")
    config.update({f"kgateway-lambda:{k}": v for k, v in overrides.items()})
    run = run_program(FakeAwsMocks(), config, secret_keys, stack="dev")
    checked = 0
    for resource in run.resources:
        if resource.read_id is not None:  # the existing Gateway is read, never written
            continue
        if not resource.type.startswith("kubernetes:gateway"):
            continue
        if resource.type.endswith("Patch"):  # a server-side apply: what must pass is the object it patches
            assert object_errors(patched(run, resource), version) == [], (resource.name, overrides)
            continue
        assert resource.type.rsplit(":", 1)[1] in CHECKED_KINDS, resource.type
        assert object_errors(reveal(resource.inputs), version) == [], (resource.name, overrides)
        checked += 1
    routes = json.loads(overrides["routes"])
    assert len(run.by_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")) == len(routes)
    assert checked >= len(json.loads(overrides["functions"])) + len(routes)


@pytest.mark.parametrize("version", list(KGATEWAY_VERSIONS))
def test_a_config_of_every_input_class_is_accepted_by_its_crd(version: str) -> None:
    """Every class the generated configs draw from, in one deterministic config per version."""
    assert_every_object_accepted(version, covering_config(version))


# Few examples, derandomized: each runs the whole program, and the covering config above already holds every class
# for every line; these add random combinations of them on each line, the same ones on every run.
@pytest.mark.parametrize("version", list(KGATEWAY_VERSIONS))
@settings(max_examples=2, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_emitted_object_is_accepted_by_its_crd(version: str, data: st.DataObject) -> None:
    assert_every_object_accepted(version, data.draw(stack_configs(version)))


BASE = {"aws:region": "us-east-1"}
not_function_names = st.text(min_size=1, max_size=70).filter(lambda s: not FUNCTION_NAME_RE.match(s))
not_dns_labels = st.text(min_size=1, max_size=70).filter(
    lambda s: not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", s)
)
INVALID = st.one_of(
    st.tuples(st.just("functionName"), not_function_names),
    st.tuples(st.just("namespace"), not_dns_labels),
    st.tuples(st.just("gatewayNamespace"), not_dns_labels),
    st.tuples(st.just("routePath"), st.text(max_size=20).filter(lambda s: not s.startswith("/"))),
    st.tuples(st.just("memorySize"), st.integers().filter(lambda n: not 128 <= n <= 10240).map(str)),
    st.tuples(st.just("timeout"), st.integers().filter(lambda n: not 1 <= n <= 900).map(str)),
    st.tuples(
        st.just("qualifier"),
        st.text(min_size=1).filter(lambda s: not re.fullmatch(r"\$LATEST|[0-9]+|[A-Za-z0-9_-]{1,128}", s)),
    ),
    st.tuples(
        st.just("credentialsMode"),
        st.text().filter(lambda s: s not in ("generated", "provided", "irsa", "assume-role")),
    ),
    st.tuples(st.just("kgatewayVersion"), st.text().filter(lambda s: s not in KGATEWAY_VERSIONS)),
)
# Combinations that are each valid alone but not together.
INVALID_COMBINATIONS = [
    ({"kgatewayVersion": "v2.0", "payloadTransformMode": "Envoy"}, "payloadTransformMode"),
    (
        {
            "kgatewayVersion": "v2.0",
            "credentialsMode": "assume-role",
            "ambientRoleArn": "arn:aws:iam::123456789012:role/r",
        },
        "credentialsMode",
    ),
    (
        {
            "kgatewayVersion": "v2.3",
            "credentialsMode": "assume-role",
            "ambientRoleArn": "arn:aws:iam::123456789012:role/r",
        },
        "credentialsMode",
    ),
    ({"alias": "live", "qualifier": "blue"}, "qualifier"),
    ({"credentialsMode": "irsa"}, "oidcProvider"),
    ({"credentialsMode": "assume-role"}, "ambientRoleArn"),
]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(bad=INVALID)
def test_every_invalid_value_is_refused_with_its_key(bad: tuple[str, str]) -> None:
    key, value = bad
    with pytest.raises(ConfigError) as error:
        load_settings(MappingConfigSource({**BASE, key: value}))
    assert f"kgateway-lambda:{key} = " in str(error.value)


@pytest.mark.parametrize(("values", "key"), INVALID_COMBINATIONS)
def test_invalid_combinations_are_refused_before_any_resource(values: dict[str, str], key: str) -> None:
    config, secret_keys = stack_config("dev")
    config.update({f"kgateway-lambda:{k}": v for k, v in values.items()})
    mocks = FakeAwsMocks()
    with pytest.raises(ConfigError) as error:
        run_program(mocks, config, secret_keys, stack="dev")
    assert f"kgateway-lambda:{key} = " in str(error.value)
    assert mocks.counter == 0
