"""One home for each rule's message: the stack config and the components refuse a bad value in the same words."""

from __future__ import annotations

from typing import Any

import pytest

from components import validation
from components.backend import check_backend_args
from components.credentials import check_credentials_args
from components.lambda_function import Runtime, check_function_args
from components.validation import InputChecker, Rule
from program.config import ConfigError, MappingConfigSource, load_settings

BASE = {"aws:region": "us-east-1", "kgatewayVersion": "v2.4"}

# (the rule, a config that breaks it, the component check and the args that break it the same way)
CASES: list[tuple[Rule, dict[str, str], Any, dict[str, Any]]] = [
    (validation.FUNCTION_NAME, {"functionName": "bad name!"}, check_function_args, {"function_name": "bad name!"}),
    (validation.ALIAS, {"alias": "123"}, check_function_args, {"function_name": "echo", "alias": "123"}),
    (validation.QUALIFIER, {"qualifier": "bad qualifier"}, check_backend_args, {"qualifier": "bad qualifier"}),
    (validation.HANDLER, {"handler": "index"}, check_function_args, {"function_name": "echo", "handler": "index"}),
    (
        validation.RUNTIME,
        {"runtime": "python3.11"},
        check_function_args,
        {"function_name": "echo", "runtime": "python3.11"},
    ),
    (
        validation.IMAGE_URI,
        {"packageType": "Image", "imageUri": "docker.io/team/greet:1"},
        check_function_args,
        {"function_name": "echo", "package_type": "Image", "image_uri": "docker.io/team/greet:1"},
    ),
    (validation.ACCOUNT_ID, {"accountId": "12345"}, check_backend_args, {"account_id": "12345"}),
    (validation.REGION, {"aws:region": "Europe"}, check_backend_args, {"region": "Europe"}),
    (validation.ENDPOINT_URL, {"endpointUrl": "ftp://x"}, check_backend_args, {"endpoint_url": "ftp://x"}),
    (validation.ROTATION, {"credentialsRotation": "a b"}, check_credentials_args, {"rotation": "a b"}),
    (
        validation.OIDC_PROVIDER,
        {"credentialsMode": "irsa", "oidcProvider": "oidc.example"},
        check_credentials_args,
        {"mode": "irsa", "oidc_provider": "oidc.example"},
    ),
    (
        validation.ROLE_ARN,
        {"credentialsMode": "assume-role", "ambientRoleArn": "role/x"},
        check_credentials_args,
        {"mode": "assume-role", "ambient_role_arn": "role/x"},
    ),
]


@pytest.mark.parametrize(("rule", "config", "check", "args"), CASES, ids=[c[0].example for c in CASES])
def test_the_config_and_the_components_refuse_in_the_rules_own_words(
    rule: Rule, config: dict[str, str], check: Any, args: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(MappingConfigSource({**BASE, **config}))
    config_allowed = {problem.allowed for problem in refused.value.problems}
    checker = InputChecker("Component", "name")
    check(checker, args)
    component_allowed = {problem.allowed for problem in checker.problems}
    assert rule.allowed in config_allowed, config_allowed
    assert rule.allowed in component_allowed, component_allowed
    assert not rule.pattern.match(next(iter(args.values())) if len(args) == 1 else list(args.values())[-1])


def test_environment_names_are_refused_in_the_same_words_by_config_and_component() -> None:
    for name, allowed in (
        ("1BAD", validation.ENVIRONMENT_NAME.allowed),
        ("AWS_REGION", validation.ENVIRONMENT_RESERVED),
    ):
        with pytest.raises(ConfigError) as refused:
            load_settings(MappingConfigSource({**BASE, "environment": f'{{"{name}": "x"}}'}))
        assert allowed in {problem.allowed for problem in refused.value.problems}
        checker = InputChecker("LambdaFunction", "f")
        check_function_args(checker, {"function_name": "f", "environment": {name: "x"}})
        assert allowed in {problem.allowed for problem in checker.problems}


def test_the_runtime_rule_lists_exactly_the_components_runtimes() -> None:
    assert tuple(r.value for r in Runtime) == validation.LAMBDA_RUNTIMES
    assert all(validation.RUNTIME.pattern.match(r.value) for r in Runtime)
    assert not validation.RUNTIME.pattern.match("python3.11")  # deprecated on 2026-06-30
