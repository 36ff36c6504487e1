"""Bad config fails before any resource exists, naming the key, the value and what is allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from program.config import (
    DEFAULTS,
    PROJECT_ROOT,
    ConfigError,
    MappingConfigSource,
    config_text,
    load_settings,
)

DictSource = MappingConfigSource


BASE = {"aws:region": "us-east-1"}

BAD_INPUTS = [
    (
        "functionName",
        "echo.fn",
        "kgateway-lambda:functionName = 'echo.fn'",
        "1 to 64 letters",
    ),
    ("functionName", "x" * 65, "kgateway-lambda:functionName", "1 to 64"),
    (
        "functionSource",
        "nope",
        "kgateway-lambda:functionSource = 'nope'",
        "lambda_src/",
    ),
    ("routePath", "echo", "kgateway-lambda:routePath = 'echo'", "starting with '/'"),
    ("routePath", "/a//b", "kgateway-lambda:routePath = '/a//b'", "'//'"),
    ("routePath", "/a b", "kgateway-lambda:routePath = '/a b'", "absolute path"),
    (
        "credentialsMode",
        "iam-user",
        "kgateway-lambda:credentialsMode = 'iam-user'",
        "one of generated, provided",
    ),
    (
        "namespace",
        "Kgateway_System",
        "kgateway-lambda:namespace = 'Kgateway_System'",
        "DNS label",
    ),
    ("namespace", "a" * 64, "kgateway-lambda:namespace", "DNS label"),
    (
        "gatewayNamespace",
        "-bad",
        "kgateway-lambda:gatewayNamespace = '-bad'",
        "DNS label",
    ),
    (
        "secretName",
        "aws_creds",
        "kgateway-lambda:secretName = 'aws_creds'",
        "DNS subdomain",
    ),
    ("memorySize", "64", "kgateway-lambda:memorySize = '64'", "128 to 10240"),
    ("timeout", "ten", "kgateway-lambda:timeout = 'ten'", "1 to 900"),
    (
        "logRetentionDays",
        "10",
        "kgateway-lambda:logRetentionDays = '10'",
        "retention periods",
    ),
    ("architecture", "arm", "kgateway-lambda:architecture = 'arm'", "arm64, x86_64"),
    ("runtime", "nodejs18.x", "kgateway-lambda:runtime = 'nodejs18.x'", "nodejs24.x"),
    (
        "kgatewayVersion",
        "v1.0",
        "kgateway-lambda:kgatewayVersion = 'v1.0'",
        "v2.0, v2.1, v2.2, v2.3, v2.4, main",
    ),
    (
        "invocationMode",
        "sync",
        "kgateway-lambda:invocationMode = 'sync'",
        "Sync, Async",
    ),
    (
        "qualifier",
        "bad qualifier",
        "kgateway-lambda:qualifier = 'bad qualifier'",
        "$LATEST",
    ),
    ("accountId", "12345", "kgateway-lambda:accountId = '12345'", "12 digits"),
    (
        "endpointUrl",
        "ftp://x",
        "kgateway-lambda:endpointUrl = 'ftp://x'",
        "http(s) URL",
    ),
    (
        "gatewayUrl",
        "localhost:8080",
        "kgateway-lambda:gatewayUrl = 'localhost:8080'",
        "http(s)://host",
    ),
    ("aws:region", "Europe", "aws:region = 'Europe'", "AWS region"),
    (
        "credentialsRotation",
        "two words",
        "kgateway-lambda:credentialsRotation = 'two words'",
        "rotate",
    ),
]


@pytest.mark.parametrize(
    ("key", "value", "names", "allowed"),
    BAD_INPUTS,
    ids=[f"{k}={v[:12]}" for k, v, *_ in BAD_INPUTS],
)
def test_bad_value_is_named_with_what_is_allowed(key: str, value: str, names: str, allowed: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(DictSource({**BASE, key: value}))
    message = str(error.value)
    assert names in message
    assert allowed in message
    assert "example:" in message


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(
            DictSource(
                {
                    "functionName": "a.b",
                    "routePath": "x",
                    "namespace": "NS",
                    "timeout": "0",
                }
            )
        )
    keys = {p.key for p in error.value.problems}
    assert keys == {
        "aws:region",
        "kgateway-lambda:functionName",
        "kgateway-lambda:routePath",
        "kgateway-lambda:namespace",
        "kgateway-lambda:timeout",
    }


def test_field_missing_from_the_chosen_version_names_the_versions_that_have_it() -> None:
    with pytest.raises(
        ConfigError,
        match=r"payloadTransformMode = 'Envoy': is not a field of kgateway v2.0; "
        r"only kgateway v2.1, v2.2, v2.3, v2.4, main have it",
    ):
        load_settings(DictSource({**BASE, "kgatewayVersion": "v2.0", "payloadTransformMode": "Envoy"}))


def test_provided_mode_needs_encrypted_keys() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(DictSource({**BASE, "credentialsMode": "provided"}))
    assert "pulumi config set --secret accessKeyId" in str(error.value)
    assert "pulumi config set --secret secretAccessKey" in str(error.value)

    plain = DictSource(
        {
            **BASE,
            "credentialsMode": "provided",
            "accessKeyId": "AKIAPLAINTEXT0000",
            "secretAccessKey": "plain-s3cret",
        }
    )
    with pytest.raises(ConfigError) as error:
        load_settings(plain)
    message = str(error.value)
    assert "must be stored encrypted" in message
    assert "AKIAPLAINTEXT0000" not in message and "plain-s3cret" not in message


def test_irsa_mode_needs_the_oidc_provider() -> None:
    with pytest.raises(
        ConfigError, match=r"kgateway-lambda:oidcProvider = \(unset\): is required when credentialsMode is 'irsa'"
    ):
        load_settings(DictSource({**BASE, "credentialsMode": "irsa"}))


def test_session_token_warns_that_kgateway_never_refreshes_it() -> None:
    settings = load_settings(
        DictSource(
            {
                **BASE,
                "credentialsMode": "provided",
                "accessKeyId": "a",
                "secretAccessKey": "b",
                "sessionToken": "c",
            },
            secret_keys={"accessKeyId", "secretAccessKey", "sessionToken"},
        )
    )
    assert any("never refreshes" in w for w in settings.warnings)


def test_bad_config_creates_no_resource(run_stack) -> None:  # type: ignore[no-untyped-def]
    from tests.support.fake_aws import FakeAwsMocks

    mocks = FakeAwsMocks()
    with pytest.raises(ConfigError):
        run_stack({"routePath": "no-slash"}, mocks=mocks)
    assert mocks.counter == 0


def test_pulumi_yaml_declares_the_same_defaults() -> None:
    declared = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())["config"]
    assert {k: config_text(v["default"]) for k, v in declared.items() if "default" in v} == DEFAULTS
    assert Path(PROJECT_ROOT / "stacks" / "Pulumi.dev.yaml").is_file()


def test_a_secret_in_another_namespace_than_the_backend_is_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError, match=r"secretNamespace = 'team-a': must be unset or equal namespace") as error:
        load_settings(DictSource({**BASE, "secretNamespace": "team-a"}))
    assert "secretRef has only a name" in str(error.value)
    assert load_settings(DictSource({**BASE, "secretNamespace": "kgateway-system"})).credentials.secret_name


def problems_of(values: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as failure:
        load_settings(DictSource({**BASE, **values}))
    return [str(p) for p in failure.value.problems]


def test_a_misspelled_key_is_refused_with_what_it_meant() -> None:
    (problem,) = problems_of({"functionNme": "orders"})
    assert problem == (
        "kgateway-lambda:functionNme = 'orders': is not a key of kgateway-lambda; did you mean functionName? "
        "(example: functionName)"
    )
    (problem,) = problems_of({"zzz": "1"})
    assert 'the keys are listed in docs/configuration.md "Config keys"' in problem
    load_settings(DictSource({**BASE, "aws:anything": "x", "kubernetes:context": "kind"}))  # other namespaces


def test_an_empty_value_is_an_error_never_the_string_none() -> None:
    (problem,) = problems_of({"functionName": ""})
    assert problem == (
        "kgateway-lambda:functionName = '': is empty: give it a value, or remove it with "
        "`pulumi config rm functionName` (example: echo)"
    )
    (problem,) = problems_of({"qualifier": ""})
    assert problem.startswith("kgateway-lambda:qualifier = '': is empty")


def test_long_values_are_cut_and_limits_stated() -> None:
    (problem,) = problems_of({"functionName": "x" * 10_000})
    assert "… (10000 characters)" in problem and len(problem) < 300
    assert "1 to 64 letters" in problem


def test_a_choice_suggests_the_closest_value() -> None:
    (problem,) = problems_of({"kgatewayVersion": "2.4"})
    assert problem.endswith("(example: v2.4)")
    (problem,) = problems_of({"architecture": "ARM64"})
    assert problem.endswith("(example: arm64)")


def test_a_missing_region_says_how_to_set_it() -> None:
    with pytest.raises(ConfigError, match=r"aws:region = \(unset\): .*`pulumi config set aws:region <region>`"):
        load_settings(DictSource({}))


def test_clashing_functions_are_reported_on_the_users_own_keys() -> None:
    problems = problems_of({"functions": '[{"name": "Echo"}, {"name": "echo"}]'})
    assert problems == [
        "kgateway-lambda:functions[1].name = 'echo': gives the Kubernetes (Backend) name 'echo', as functions[0].name "
        "('Echo') does; each must be unique (example: echo-2)"
    ]


@pytest.mark.parametrize(
    ("expression", "reason"),
    [("^/a(?!b)", "invalid perl operator: (?!"), ("(a)\\1", "invalid escape sequence: \\1"), ("[", "missing ]: [")],
)
def test_a_regular_expression_envoy_cannot_compile_is_refused(expression: str, reason: str) -> None:
    """Python's `re` accepts look-around and back-references; Envoy's RE2 does not."""
    (problem,) = problems_of({"routeMatch": "RegularExpression", "routePath": expression})
    assert f"must be an RE2 regular expression, as Envoy compiles it ({reason})" in problem
    load_settings(DictSource({**BASE, "routeMatch": "RegularExpression", "routePath": "^/echo/[0-9]+$"}))


def preflight_of(run_stack: Any, values: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as failure:
        run_stack(values)
    return [str(p) for p in failure.value.problems]


LONG_HOST = "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + "." + "d" * 80


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # Gateway API allows at most 16 hostnames, each a DNS name of at most 253 characters.
        (
            {"routes": json.dumps([{"path": "/e", "hostnames": [f"h{i}.example.com" for i in range(17)]}])},
            "kgateway-lambda:routes[0].hostnames = ['h0.example.com', ",
        ),
        (
            {"routes": json.dumps([{"path": "/a"}, {"path": "/e", "hostnames": ["ok.example.com", LONG_HOST]}])},
            f"kgateway-lambda:routes[1].hostnames[1] = '{LONG_HOST[:60]}",
        ),
        # A header match needs a value of 1 to 4096 characters.
        (
            {"routes": json.dumps([{"path": "/a"}, {"path": "/b"}, {"path": "/e", "headers": {"x-team": ""}}])},
            "kgateway-lambda:routes[2].headers.x-team = '': would be refused by the API server: HTTPRoute ",
        ),
        # Percent-encoding in a path is `%` and two hex digits (Gateway API's pattern).
        ({"routePath": "/echo/%zz"}, "kgateway-lambda:routePath = '/echo/%zz': would be refused by the API server"),
    ],
    ids=["17-hostnames", "long-hostname", "empty-header-value", "bad-percent-encoding"],
)
def test_a_refusal_names_the_users_key_value_and_the_rules_limit_once(
    run_stack: Any, values: dict[str, str], expected: str
) -> None:
    """Each refusal is on the key and entry the user wrote, with their value and the CRD's limit, once however
    many CRD files (here Gateway API v1.2.1 and v1.6.1 under `auto`) state the rule."""
    problems = preflight_of(run_stack, {"kgatewayVersion": "auto", **values})
    (problem,) = problems
    assert problem.startswith(expected), problem
    limits = {
        "17-hostnames": "spec.hostnames must be at most 16 items",
        "long-hostname": "spec.hostnames[1] must be at most 253 character(s)",
        "empty-header-value": "spec.rules[0].matches[0].headers[0].value must be at least 1 character(s)",
        "bad-percent-encoding": "spec.rules[0].matches[0].path must only contain valid characters (matching ^(?:",
    }
    assert any(limit in problem for limit in limits.values()), problem
    assert "HTTPRoute 'echo'" not in problem.split(":", 1)[0]  # the object's name is never shown as the value


def test_a_refusal_of_a_name_the_program_derives_names_the_users_entry() -> None:
    """A Backend name made from the function's name is refused on the function's own key, saying so."""
    settings = load_settings(
        DictSource({**BASE, "kgatewayVersion": "v2.4", "functions": json.dumps([{"name": "a"}, {"name": "b"}])})
    )
    from dataclasses import replace

    from program.preflight import preflight_problems

    target = settings.targets[1]
    long_backend = replace(target, backend=replace(target.backend, name="b" * 300))
    problems = [str(p) for p in preflight_problems(replace(settings, targets=(settings.targets[0], long_backend)))]
    assert problems and all(p.startswith("kgateway-lambda:functions[1].name = 'b': ") for p in problems), problems
    assert any("(the Backend name 'bbbb" in p and "is derived from it)" in p for p in problems), problems
    assert all("at most 253 character(s)" in p for p in problems), problems
    assert len(problems) == len(set(problems))


def test_routes_whose_names_collide_are_named_by_what_the_user_wrote() -> None:
    """Two names the user wrote: on the second `name`; a name the program derives: on the entry it comes from,
    never on a `name` the user did not write."""
    routes = [{"path": "/a", "name": "shared"}, {"path": "/b", "name": "shared"}]
    (problem,) = problems_of({"routes": json.dumps(routes)})
    assert problem.startswith("kgateway-lambda:routes[1].name = 'shared': gives the HTTPRoute name 'shared', as ")
    assert "routes[0].name" in problem
    functions = json.dumps([{"name": "echo"}, {"name": "orders"}])
    routes = [{"function": "orders", "path": "/o", "name": "echo"}, {"function": "echo", "path": "/e"}]
    (problem,) = problems_of({"functions": functions, "routes": json.dumps(routes)})
    assert problem.startswith(
        "kgateway-lambda:routes[1] = '/e': gives the HTTPRoute name 'echo' (derived from its function and path), "
        "as routes[0].name does"
    ), problem


def test_the_preflight_checks_the_reference_grant_the_program_makes() -> None:
    """A route in another namespace gets a ReferenceGrant named `<route>-from-<namespace>`, cut to 253 without a
    trailing '-' (components/route.py): the preflight checks that same object, so a long route name the program
    handles is not refused for a name the program never makes."""
    from program.preflight import objects, preflight_problems

    name = "r" * 247  # "<247 r>-from-team-a" cut at 253 would end in "-from-"
    routes = [{"path": "/a", "name": name, "namespace": "team-a"}]
    settings = load_settings(DictSource({**BASE, "kgatewayVersion": "v2.4", "routes": json.dumps(routes)}))
    (grant,) = [m for _, m in objects(settings) if m["kind"] == "ReferenceGrant"]
    assert grant["metadata"]["name"] == name + "-from"
    assert preflight_problems(settings) == []


def test_every_stack_passes_the_preflight() -> None:
    from program.preflight import objects, preflight_problems
    from tools.engine import stack_config

    for stack in ("dev", "multi", "local"):
        config, secret_keys = stack_config(stack)
        settings = load_settings(DictSource(config, set(secret_keys)))
        assert preflight_problems(settings) == [], stack
        assert {m["kind"] for _, m in objects(settings)} >= {"Backend", "HTTPRoute"}


def test_a_gateway_url_port_out_of_range_is_refused() -> None:
    (problem,) = problems_of({"gatewayUrl": "http://localhost:70000"})
    assert problem.startswith("kgateway-lambda:gatewayUrl = 'http://localhost:70000': must have a port from 1 to 65535")
    load_settings(DictSource({**BASE, "gatewayUrl": "http://localhost:65535"}))


def settings_with(key: str, value: str) -> Any:
    return load_settings(DictSource({**BASE, f"kgateway-lambda:{key}": value}))


@pytest.mark.parametrize(
    ("key", "lowest", "highest", "read"),
    [
        ("memorySize", 128, 10240, lambda s: s.targets[0].function.memory_mb),
        ("timeout", 1, 900, lambda s: s.targets[0].function.timeout_s),
        ("gatewayPort", 1, 65535, lambda s: s.gateway_port),
    ],
)
def test_each_limit_holds_its_bounds_and_refuses_one_past_them(key: str, lowest: int, highest: int, read: Any) -> None:
    """Both sides of each bound: the limit itself is valid (AWS allows 10240 MB and 900 s), one past it is not."""
    for valid in (lowest, highest):
        assert read(settings_with(key, str(valid))) == valid
    for invalid in (lowest - 1, highest + 1):
        with pytest.raises(
            ConfigError, match=f"kgateway-lambda:{key} = '{invalid}': must be a whole number from {lowest} to {highest}"
        ):
            settings_with(key, str(invalid))


def test_a_function_name_may_be_64_characters_and_not_65() -> None:
    assert settings_with("functionName", "f" * 64).targets[0].function.name == "f" * 64
    with pytest.raises(ConfigError, match="kgateway-lambda:functionName"):
        settings_with("functionName", "f" * 65)
