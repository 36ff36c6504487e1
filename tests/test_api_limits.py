"""Limits measured as the real API measures them (issues 27 and 32): a Lambda endpoint URL kgateway can parse,
Lambda's 4 KB environment as compact JSON (secret values measured, never shown), CRD lists declared as sets or maps
checked as the API server does, and a body limit written as a plain number of bytes."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from components import LambdaBackend
from components.backend import KgatewayRelease
from components.protection_spec import protection_objects
from components.traffic_policy import TRAFFIC_POLICY_SUPPORT, traffic_policy_manifest
from components.validation import ComponentInputError, environment_size
from program.config import ConfigError, MappingConfigSource, load_settings
from program.crd_validation import BASIS, CRDS, load_yaml, object_errors, served_schema
from program.preflight import objects, preflight_problems
from tests.support.fake_aws import FakeAwsMocks
from tools.engine import run_program

SECRET_ENVIRONMENT = "kgateway-lambda:secretEnvironment"


def load(extra: dict[str, Any], secret: set[str] | None = None) -> Any:
    values = {"aws:region": "eu-west-1", "kgateway-lambda:kgatewayVersion": "v2.3"}
    values.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()})
    return load_settings(MappingConfigSource(values, secret or set()))


def refused(extra: dict[str, Any], secret: set[str] | None = None) -> str:
    with pytest.raises(ConfigError) as error:
        load(extra, secret)
    return str(error.value)


# --- endpointUrl without a port (issue 27) ------------------------------------------------------------------------


def test_an_endpoint_url_without_a_port_is_refused_with_the_port_added() -> None:
    """kgateway fails such a Backend ("failed to parse port"), so `up` would wait for its acceptance in vain."""
    text = refused({"kgateway-lambda:endpointUrl": "https://lambda.eu-west-1.amazonaws.com"})
    assert "endpointUrl = 'https://lambda.eu-west-1.amazonaws.com': must give the port" in text
    assert "failed to parse port" in text and "example: https://lambda.eu-west-1.amazonaws.com:443" in text
    assert "example: http://moto.example:80/x" in refused({"kgateway-lambda:endpointUrl": "http://moto.example/x"})
    assert "from 1 to 65535" in refused({"kgateway-lambda:endpointUrl": "http://moto.example:70000"})
    for accepted in ("https://lambda.eu-west-1.amazonaws.com:443", "http://172.18.0.1:5000"):
        backend = next(m for _, m in objects(load({"kgateway-lambda:endpointUrl": accepted})) if m["kind"] == "Backend")
        assert backend["spec"]["aws"]["lambda"]["endpointURL"] == accepted


def test_the_backend_component_refuses_an_endpoint_url_without_a_port() -> None:
    def program() -> None:
        LambdaBackend(
            "echo",
            {
                "function_name": "echo",
                "kgateway_version": KgatewayRelease.V2_3,
                "endpoint_url": "https://lambda.eu-west-1.amazonaws.com",
            },
        )

    with pytest.raises(ComponentInputError, match=r"endpointUrl = .*must give the port.*amazonaws.com:443"):
        run_program(FakeAwsMocks(), {"aws:region": "eu-west-1"}, program=program)


# --- Lambda's 4 KB environment, as Lambda measures it (issue 32) --------------------------------------------------


def test_the_environment_is_measured_as_compact_json() -> None:
    assert environment_size({"A1": "b"}) == len('{"A1":"b"}')
    assert environment_size({"A1": "b", "C2": "d"}) == len('{"A1":"b","C2":"d"}')
    assert environment_size({"A1": 'say "hi"'}) == len('{"A1":"say \\"hi\\""}')  # escaping counts


def test_a_set_under_4_kb_of_names_and_values_but_over_it_as_json_is_refused() -> None:
    """100 variables of 40 bytes each: 4,000 bytes of names and values, 4,601 as Lambda measures them."""
    variables = {f"V{i:02d}": "x" * 37 for i in range(100)}
    assert sum(len(k) + len(v) for k, v in variables.items()) == 4000
    text = refused({"kgateway-lambda:environment": variables})
    assert "environment = '4601 bytes': must be at most 4096 bytes as Lambda measures them" in text
    fits = {f"V{i:02d}": "x" * 30 for i in range(88)}
    assert environment_size(fits) <= 4096
    load({"kgateway-lambda:environment": fits})


def test_secret_variables_count_toward_the_limit_and_are_never_shown() -> None:
    token = "s3cr3t-" + "t" * 2500
    secret = {SECRET_ENVIRONMENT: {"echo": {"API_TOKEN": token}}}
    plain = {"kgateway-lambda:environment": {"STAGE": "x" * 2000}}
    text = refused({**plain, **secret}, {SECRET_ENVIRONMENT})
    assert "this function's secretEnvironment included" in text and "bytes" in text
    assert "s3cr3t" not in text
    alone = refused({SECRET_ENVIRONMENT: {"echo": {"API_TOKEN": token * 2}}}, {SECRET_ENVIRONMENT})
    assert "secretEnvironment.echo" in alone and "measures 5" in alone and "s3cr3t" not in alone
    load({**plain, SECRET_ENVIRONMENT: {"echo": {"API_TOKEN": "short"}}}, {SECRET_ENVIRONMENT})


def test_the_function_component_measures_as_lambda_does() -> None:
    from components import LambdaFunction

    variables = {f"V{i:02d}": "x" * 37 for i in range(100)}

    def program() -> None:
        LambdaFunction(
            "echo",
            {"function_name": "echo", "code": pulumi.FileArchive("lambda_src/echo"), "environment": variables},
        )

    with pytest.raises(ComponentInputError, match=r"environment = '4601 bytes': must be at most 4096 bytes"):
        run_program(FakeAwsMocks(), {"aws:region": "eu-west-1"}, program=program)


# --- CRD list types (issue 32) ------------------------------------------------------------------------------------


def _cors_policy(origins: list[str], line: str = "v2.3") -> dict[str, Any]:
    spec, _, _, _ = protection_objects({"cors": {"allow_origins": origins}}, "echo")
    return traffic_policy_manifest(
        TRAFFIC_POLICY_SUPPORT[line], name="p", namespace="n", route_name="echo", protection=spec
    )


@pytest.mark.parametrize("line", ["v2.2", "v2.3", "v2.4", "main"])
def test_a_repeated_item_of_a_set_is_refused_as_the_api_server_refuses_it(line: str) -> None:
    """CORS `allowOrigins` is `x-kubernetes-list-type: set` in every line's TrafficPolicy CRD."""
    crd = load_yaml(CRDS / f"{BASIS[line].policy_crds[0]}-trafficpolicies.yaml")
    origins = served_schema(crd, "v1alpha1")["properties"]["spec"]["properties"]["cors"]["properties"]["allowOrigins"]
    assert origins["x-kubernetes-list-type"] == "set"
    errors = object_errors(_cors_policy(["https://a.example", "https://b.example", "https://a.example"], line), line)
    assert errors == [f"{BASIS[line].policy_crds[0]}-trafficpolicies.yaml: spec/cors/allowOrigins/2: "
                      'Duplicate value: "https://a.example"']  # fmt: skip
    assert object_errors(_cors_policy(["https://a.example", "https://b.example"], line), line) == []


def test_a_repeated_key_of_a_map_list_is_refused() -> None:
    """The HTTPRoute's header matches are `x-kubernetes-list-type: map` keyed by name (Gateway API v1.6.1)."""
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "echo", "namespace": "n"},
        "spec": {
            "parentRefs": [{"name": "http"}],
            "rules": [
                {
                    "matches": [
                        {
                            "path": {"type": "PathPrefix", "value": "/echo"},
                            "headers": [{"name": "x-env", "value": "a"}, {"name": "x-env", "value": "b"}],
                        }
                    ]
                }
            ],
        },
    }
    errors = object_errors(route, "main")
    assert errors == [
        'gateway-api-v1.6.1-httproutes.yaml: spec/rules/0/matches/0/headers/1: Duplicate value: {"name": "x-env"}'
    ]


def test_the_config_refuses_a_repeated_origin_before_the_preflight() -> None:
    protection = {"cors": {"allowOrigins": ["https://a.example", "https://b.example", "https://a.example"]}}
    text = refused({"kgateway-lambda:protection": protection})
    assert "protection.cors.allowOrigins = 'https://a.example': must list each origin once" in text
    assert "example: ['https://a.example', 'https://b.example']" in text


# --- maxRequestSize as a plain number of bytes (issue 32) ---------------------------------------------------------


def test_a_body_limit_in_plain_bytes_is_accepted_as_the_crd_accepts_it() -> None:
    settings = load({"kgateway-lambda:protection": {"maxRequestSize": 6291456}})
    assert preflight_problems(settings) == []
    policy = next(m for _, m in objects(settings) if m["kind"] == "TrafficPolicy")
    assert policy["spec"]["buffer"] == {"maxRequestSize": "6291456"}
    assert "less than 4Gi" in refused({"kgateway-lambda:protection": {"maxRequestSize": 0}})
    assert "less than 4Gi" in refused({"kgateway-lambda:protection": {"maxRequestSize": 4 * 2**30}})
    assert "must be a string" in refused({"kgateway-lambda:protection": {"maxRequestSize": True}})
