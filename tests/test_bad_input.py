"""Bad input as a new user writes it (issues 30 and 32): each message names the key the user wrote and their own
value, never a secret; a name inside a secret key's value (a client id, a function or variable name) is shown,
only the values under it are hidden."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi.output
import pytest

from components.inputs import checked_inputs
from components.route import LambdaRouteArgs, check_route_args
from components.validation import ComponentInputError
from program.config import ConfigError, MappingConfigSource, load_settings
from program.config.sources import stored_plain_places
from tools.plan import plan

BASE = {"aws:region": "us-east-1", "kgatewayVersion": "v2.3"}
# Key material in these tests: none of it may appear in a message.
SHORT_KEY = "short-key-73"
GOOD_KEY = "a-key-long-enough-4f1c9e"


def problems(extra: dict[str, Any], secret: set[str] | None = None) -> list[str]:
    values = {**BASE, **{k: v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()}}
    with pytest.raises(ConfigError) as error:
        load_settings(MappingConfigSource(values, secret or set()))
    text = str(error.value)
    assert SHORT_KEY not in text and GOOD_KEY not in text
    return [str(p) for p in error.value.problems]


# --- names that differ only in case (issue 30) -------------------------------------------------------------------


def test_function_names_that_differ_only_in_case_are_refused_naming_both_names() -> None:
    """`Echo` and `echo` derive one route path: the message is on the second name and names the first, not the
    path as the name's value under a `routes` key the user never wrote."""
    (problem,) = problems({"functions": [{"name": "Echo"}, {"name": "echo", "backendName": "echo-2"}]})
    assert problem.startswith(
        "kgateway-lambda:functions[1].name = 'echo': gets the route /echo (derived from its name), as "
        "functions[0].name ('Echo') does"
    ), problem
    # Without a backendName of its own, the Backend name is what clashes first: both names are named there too.
    (problem,) = problems({"functions": [{"name": "Echo"}, {"name": "echo"}]})
    assert problem.startswith("kgateway-lambda:functions[1].name = 'echo': gives the Kubernetes (Backend) name")
    assert "functions[0].name ('Echo')" in problem


def test_a_derived_route_name_clash_names_the_first_functions_own_name() -> None:
    """Two routes whose derived HTTPRoute names clash: the first one's own spelling is named beside its key."""
    functions = [{"name": "Echo", "backendName": "a"}, {"name": "echo", "backendName": "b"}]
    routes = [{"function": "Echo", "path": "/a"}, {"function": "echo", "path": "/b", "name": "echo"}]
    (problem,) = problems({"functions": functions, "routes": routes})
    assert problem.startswith("kgateway-lambda:routes[1].name = 'echo': gives the HTTPRoute name 'echo'"), problem


# --- a path longer than Gateway API allows (issue 30) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"routePath": "/" + "a" * 9_999}, "kgateway-lambda:routePath"),
        ({"routes": [{"path": "/" + "a" * 9_999}]}, "kgateway-lambda:routes[0].path"),
    ],
)
def test_a_path_over_1024_characters_is_refused_for_its_length(extra: dict[str, Any], key: str) -> None:
    (problem,) = problems(extra)
    assert problem.startswith(f"{key} = '/aaaa"), problem
    assert "(10000 characters): must be at most 1024 characters (Gateway API's limit on a path match)" in problem
    assert "of the characters Gateway API allows" not in problem


# --- runtime and source of different languages (issue 32) ---------------------------------------------------------
# (tests/test_functions_from_source.py `test_what_aws_refuses_is_refused_before_anything_is_made` has the rows.)


# --- a client id is a name, not a secret (issue 32) ---------------------------------------------------------------


def test_a_short_provided_key_is_refused_naming_its_client_and_the_command_for_it() -> None:
    keys = {"mobile": SHORT_KEY, "web": GOOD_KEY}
    protection = {"apiKeys": {"provided": ["mobile", "web"]}}
    (problem,) = problems({"providedApiKeys": keys, "protection": protection}, {"providedApiKeys"})
    assert problem == (
        "kgateway-lambda:providedApiKeys.mobile = [secret]: must be 16 to 4096 visible ASCII characters; set it "
        "again with `pulumi config set --secret --path 'providedApiKeys.mobile' <key>` (example: pulumi config set "
        "--secret --path 'providedApiKeys.mobile' <key>)"
    )


def test_a_bad_client_id_is_shown_once_as_it_is() -> None:
    keys = {"mobile app": GOOD_KEY}
    protection = {"apiKeys": {"provided": ["mobile app"]}}
    (problem,) = problems({"providedApiKeys": keys, "protection": protection}, {"providedApiKeys"})
    assert problem == (
        "kgateway-lambda:providedApiKeys = 'mobile app': has a client id that is not 1 to 253 of A-Z a-z 0-9 - . _ "
        "(example: mobile)"
    )


def test_a_client_id_named_by_a_route_and_not_set_is_spelled_out_in_the_command() -> None:
    keys = {"mobile": GOOD_KEY}
    protection = {"apiKeys": {"provided": ["mobile", "partner"]}}
    (problem,) = problems({"providedApiKeys": keys, "protection": protection}, {"providedApiKeys"})
    assert problem.startswith("kgateway-lambda:protection.apiKeys.provided = 'partner': must name a client id set")
    assert "`pulumi config set --secret --path 'providedApiKeys.partner' <key>`" in problem
    assert "(example: mobile)" in problem  # a client id of the secret config is no secret: never cut out


# --- a secret mapping with a value stored in plain text (issue 32) -------------------------------------------------

# A stack file as `pulumi config set --path` writes it: `mobile` and `API_TOKEN` set with `--secret`, `web` and
# `STAGE` without (pulumi/pulumi sdk/go/common/resource/config/object.go: one `{secure: ...}` per encrypted leaf).
MIXED_STACK = """\
config:
  aws:region: us-east-1
  kgateway-lambda:kgatewayVersion: v2.3
  kgateway-lambda:providedApiKeys:
    mobile:
      secure: v1:EXAMPLEONLYnotarealciphertext
    web: plain-key-value-0123456789
  kgateway-lambda:secretEnvironment:
    echo:
      API_TOKEN:
        secure: v1:EXAMPLEONLYnotarealciphertext
      STAGE: plain-stage-value-42
  kgateway-lambda:protection:
    apiKeys:
      provided: [mobile, web]
"""


def test_a_plain_value_among_secret_ones_is_refused_by_its_place_from_the_stack_file(tmp_path: Path) -> None:
    """The engine lists the whole key as secret and hands every value over decrypted: only the stack file says
    which values were set without `--secret`. The plan (the CLI's model, then the program) refuses each."""
    (tmp_path / "Pulumi.mixed.yaml").write_text(MIXED_STACK)
    with pytest.raises(ConfigError) as error:
        plan("mixed", stacks_dir=tmp_path)
    text = str(error.value)
    assert "plain-key-value" not in text and "plain-stage-value" not in text
    assert [str(p) for p in error.value.problems] == [
        "kgateway-lambda:secretEnvironment.echo.STAGE = [secret]: is stored in plain text in the stack file (in "
        "git), unlike the rest of secretEnvironment: set it again with `pulumi config set --secret --path "
        "'secretEnvironment.echo.STAGE' <value>` (example: pulumi config set --secret --path "
        "'secretEnvironment.echo.STAGE' <value>)",
        "kgateway-lambda:providedApiKeys.web = [secret]: is stored in plain text in the stack file (in git), unlike "
        "the rest of providedApiKeys: set it again with `pulumi config set --secret --path 'providedApiKeys.web' "
        "<key>` (example: pulumi config set --secret --path 'providedApiKeys.web' <key>)",
    ]
    # Encrypted, the same stack plans.
    fixed = MIXED_STACK.replace("web: plain-key-value-0123456789", "web:\n      secure: v1:EXAMPLEONLY")
    fixed = fixed.replace("STAGE: plain-stage-value-42", "STAGE:\n        secure: v1:EXAMPLEONLY")
    (tmp_path / "Pulumi.mixed.yaml").write_text(fixed)
    plan("mixed", stacks_dir=tmp_path)


@pytest.mark.parametrize(
    ("stored", "received", "places"),
    [
        ({"a": {"secure": "v1:x"}, "b": "text"}, {"a": "decrypted", "b": "text"}, ["k.b"]),
        ({"secure": "v1:x"}, {"a": "b"}, []),  # the whole object set with --secret
        ({"mobile-app": "text"}, {"mobile-app": "text"}, ['k["mobile-app"]']),  # as --path spells it
        ({"a": ["1", {"secure": "v1:x"}]}, {"a": [1, "s"]}, ["k.a[0]"]),
        # Not the file the program was given (`pulumi up --config-file`): it tells nothing.
        ({"a": {"secure": "v1:x"}, "b": "other"}, {"a": "decrypted", "b": "text"}, None),
        ({"a": {"secure": "v1:x"}}, {"a": "decrypted", "b": "text"}, None),
    ],
)
def test_the_plain_places_of_a_stored_value(stored: Any, received: Any, places: list[str] | None) -> None:
    assert stored_plain_places(stored, received, ("k",)) == places


def test_plain_values_given_to_the_reader_are_refused_each_by_place() -> None:
    keys = {"mobile": GOOD_KEY, "mobile-2": GOOD_KEY[::-1]}
    protection = {"apiKeys": {"provided": ["mobile", "mobile-2"]}}
    values = {**BASE, "providedApiKeys": json.dumps(keys), "protection": json.dumps(protection)}
    source = MappingConfigSource(values, {"providedApiKeys"}, {"providedApiKeys": ['providedApiKeys["mobile-2"]']})
    with pytest.raises(ConfigError) as error:
        load_settings(source)
    (problem,) = [str(p) for p in error.value.problems]
    assert problem.startswith('kgateway-lambda:providedApiKeys["mobile-2"] = [secret]: is stored in plain text')
    assert GOOD_KEY not in str(error.value) and GOOD_KEY[::-1] not in str(error.value)


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"environment": {"API_TOKEN": "plain-copy-1", "STAGE": "prod"}}, "kgateway-lambda:environment"),
        (
            {"functions": [{"name": "echo", "environment": {"API_TOKEN": "plain-copy-1"}}]},
            "kgateway-lambda:functions[0].environment",
        ),
    ],
)
def test_a_variable_both_plain_and_secret_is_refused_on_the_plain_one(extra: dict[str, Any], key: str) -> None:
    """The secret would win and the plain copy stay in git."""
    secret = {"secretEnvironment": {"echo": {"API_TOKEN": "secret-token-9a8b"}}}
    found = problems({**extra, **secret}, {"secretEnvironment"})
    assert "secret-token-9a8b" not in "".join(found)
    assert found == [
        f"{key} = 'API_TOKEN': is also set in secretEnvironment (secretEnvironment.echo.API_TOKEN): the function "
        "gets the secret, and this plain copy stays in the stack file (in git); remove it from environment "
        "(example: remove it)"
    ]


# --- a value of the wrong shape: a message naming it, never a traceback (issue 32) ---------------------------------
# (tests/test_config_shapes.py and tests/test_input_shapes.py feed every place every shape; these are the ones that
# ended in a traceback, with the message each now gives.)


@pytest.mark.parametrize(
    ("extra", "secret", "expected"),
    [
        (
            {"protection": {"apiKeys": {"clients": [{}, "web"]}}},
            set(),
            "kgateway-lambda:protection.apiKeys.clients[0] = {}: must be a string",
        ),
        (
            {"protection": {"cors": {"allowOrigins": ["*"], "allowMethods": [["GET"]]}}},
            set(),
            "kgateway-lambda:protection.cors.allowMethods[0] = ['GET']: must be a string",
        ),
        (
            {"protection": {"jwt": {"jwksInline": "{}", "claimsToHeaders": ["sub"]}}},
            set(),
            "kgateway-lambda:protection.jwt.claimsToHeaders = ['sub']: must be an object mapping names to values",
        ),
        (
            {"protection": {"apiKeys": {"forwardKey": "yes"}}},
            set(),
            "kgateway-lambda:protection.apiKeys.forwardKey = 'yes': must be a boolean",
        ),
        (
            {"providedApiKeys": {"mobile": [SHORT_KEY]}, "protection": {"apiKeys": {"provided": ["mobile"]}}},
            {"providedApiKeys"},
            "kgateway-lambda:providedApiKeys.mobile = [secret]: must be 16 to 4096 visible ASCII characters",
        ),
        (
            {"providedApiKeys": {"mobile": GOOD_KEY}, "protection": {"apiKeys": {"provided": [{"id": "mobile"}]}}},
            {"providedApiKeys"},
            "kgateway-lambda:protection.apiKeys.provided = [{'id': 'mobile'}]: must list client ids of providedApiKeys",
        ),
        (
            {"secretEnvironment": {"echo": {"API_TOKEN": [SHORT_KEY]}}},
            {"secretEnvironment"},
            "kgateway-lambda:secretEnvironment.echo.API_TOKEN = [secret]: must be a text value",
        ),
    ],
)
def test_a_value_of_the_wrong_shape_is_refused_by_name(extra: dict[str, Any], secret: set[str], expected: str) -> None:
    assert any(problem.startswith(expected) for problem in problems(extra, secret)), problems(extra, secret)


def test_a_components_protection_section_not_known_yet_is_refused_by_name_not_read_into() -> None:
    """A preview's unknown where the schema declares a plain value (another language's program): named, as an
    Output there is, instead of an AttributeError from inside the checks."""
    args = {"path": "/echo", "backend_name": "echo", "protection": {"jwt": pulumi.output.Unknown()}}  # type: ignore[no-untyped-call]
    with pytest.raises(ComponentInputError) as error:
        checked_inputs("LambdaRoute", "r", LambdaRouteArgs, args, check_route_args)
    assert "protection.jwt = an unknown value: must be an object (JwtArgs), known when the program runs" in str(
        error.value
    )
