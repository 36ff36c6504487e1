"""The library's pure helpers, tested directly: what each returns at its edges, without a program run around it."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest

from components.backend import effective_payload_mode
from components.composite_plan import default_route_name
from components.credentials import credentials_mode
from components.execution_role import MANAGED_POLICY_CHARACTERS
from components.gateway_iam import assume_role_trust_policy, invoke_only_policy, irsa_trust_policy, policy_chunks
from components.kgateway_api import KGATEWAY_VERSIONS, versions_with
from components.protection_checks import MIN_FILL_MS, duration_ms
from components.protection_spec import token_bucket
from components.route import PathMatch
from components.traffic_policy import TRAFFIC_POLICY_SUPPORT, first_line_with, protection_problems
from components.validation import DNS_LABEL_RE, dns_label_for, path_problem, plain, regex_problem, whole
from tests.support.fake_aws import AMBIENT_ROLE, OIDC_ISSUER, OIDC_PROVIDER

# The longest ARN prefix a function can have: the longest partition and a 20-character region.
LONGEST_PREFIX = f"arn:aws-us-gov:lambda:{'r' * 20}:123456789012:function:"


def iam_size(document: str) -> int:
    """A managed policy's size as IAM counts it: white space not counted ("IAM and AWS STS quotas")."""
    return len(re.sub(r"\s", "", document))


def worst_case_policy(chunk: list[Any]) -> str:
    """The policy a chunk becomes when every function has the longest ARN it could have."""
    arns = []
    for target in chunk:
        arn = target["function"] if target["function"].startswith("arn:") else LONGEST_PREFIX + target["function"]
        arns.append(f"{arn}:{target.get('qualifier') or '$LATEST'}")  # the one ARN its Backend invokes
    return invoke_only_policy(arns)


# --- policy_chunks -------------------------------------------------------------------------------------------


def test_no_targets_is_one_empty_policy() -> None:
    assert policy_chunks([]) == [[]]


def test_a_few_targets_share_one_policy_in_their_order() -> None:
    targets = [{"function": name} for name in ("b", "a", "c")]
    assert policy_chunks(targets) == [targets]


@pytest.mark.parametrize("count", [60, 150, 400])
def test_chunks_fit_iams_size_limit_even_with_the_longest_arns_and_are_packed_full(count: int) -> None:
    targets = [{"function": f"function-{i:03d}-{'x' * 40}", "qualifier": "live"} for i in range(count)]
    chunks = policy_chunks(targets)
    assert [t for chunk in chunks for t in chunk] == targets  # all of them, in order
    for chunk in chunks:
        assert chunk
        assert iam_size(worst_case_policy(chunk)) <= MANAGED_POLICY_CHARACTERS
    # Packed: the next chunk's first target would not have fit in the one before.
    for before, after in itertools.pairwise(chunks):
        assert iam_size(worst_case_policy([*before, after[0]])) > MANAGED_POLICY_CHARACTERS - 64


def test_a_target_larger_than_a_policy_gets_a_policy_of_its_own() -> None:
    huge = {"function": "f", "qualifier": "q" * 7000}
    chunks = policy_chunks([{"function": "a"}, huge, {"function": "b"}])
    assert chunks == [[{"function": "a"}], [huge], [{"function": "b"}]]


def test_a_full_arn_counts_at_its_own_length() -> None:
    """An ARN target (any account) is packed by its length, so long ARNs need more policies than short names."""
    names = [{"function": f"fn{i:03d}"} for i in range(300)]
    arns = [{"function": f"arn:aws:lambda:us-east-1:123456789012:function:{'n' * 60}{i:03d}"} for i in range(300)]
    assert len(policy_chunks(arns)) > len(policy_chunks(names))


# --- default_route_name --------------------------------------------------------------------------------------


def test_the_first_route_takes_the_components_name() -> None:
    assert default_route_name("orders", 0, {"path": "/anything"}) == "orders"


def test_later_routes_add_a_hash_of_what_they_match() -> None:
    name = default_route_name("orders", 1, {"path": "/orders", "methods": ["GET", "POST"]})
    assert re.fullmatch(r"orders-[0-9a-f]{6}", name)
    assert default_route_name("orders", 2, {"path": "/orders", "methods": ["POST", "GET"]}) == name  # order-free
    assert default_route_name("orders", 1, {"path": "/other", "methods": ["GET", "POST"]}) != name
    assert default_route_name("orders", 1, {"path": "/orders", "methods": ["GET"]}) != name


def test_an_omitted_match_is_the_same_route_as_path_prefix_and_an_enum_as_its_value() -> None:
    implicit = default_route_name("r", 1, {"path": "/a"})
    assert default_route_name("r", 1, {"path": "/a", "match": "PathPrefix"}) == implicit
    assert default_route_name("r", 1, {"path": "/a", "match": PathMatch.EXACT}) == default_route_name(
        "r", 1, {"path": "/a", "match": "Exact"}
    )
    assert default_route_name("r", 1, {"path": "/a", "match": "Exact"}) != implicit


def test_a_long_components_name_still_gives_a_dns_label() -> None:
    label = "a" * 54 + "-" + "b" * 8  # 63 characters, a '-' where the cut falls
    name = default_route_name(label, 1, {"path": "/x"})
    assert len(name) <= 63 and DNS_LABEL_RE.match(name), name
    assert name.startswith("a" * 54 + "-") and "--" not in name


# --- path_problem and regex_problem --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/echo", "/a/b.c", "/a-b_c~d", "/v1/items;x=1", "/%20", "/" + "a" * 1023])
def test_paths_gateway_api_accepts(path: str) -> None:
    assert path_problem(path) is None


@pytest.mark.parametrize(
    "path",
    ["", "echo", "/a//b", "/a/./b", "/a/../b", "/a/.", "/a/..", "/a%2fb", "/a%2Fb", "/a#b", "/a b"],
)
def test_paths_gateway_api_refuses(path: str) -> None:
    problem = path_problem(path)
    assert problem is not None and problem.startswith("must be an absolute path starting with '/'")


def test_a_path_over_gateway_apis_length_is_refused_for_its_length() -> None:
    """Its length is what Gateway API refuses (the CRD's maxLength), whatever its characters (issue 30)."""
    assert path_problem("/" + "a" * 1024) == (
        "must be at most 1024 characters (Gateway API's limit on a path match); this one has 1025"
    )
    assert path_problem("/" + "a b" * 400).startswith("must be at most 1024 characters")  # type: ignore[union-attr]


def test_regular_expressions_are_judged_as_re2_judges_them() -> None:
    assert regex_problem("/items/[0-9]+") is None
    assert regex_problem("") == "must be 1 to 1024 characters"
    assert regex_problem("x" * 1025) == "must be 1 to 1024 characters"
    # Python's `re` takes look-ahead; RE2 (what Envoy compiles) does not.
    assert re.compile("/a(?=b)")
    problem = regex_problem("/a(?=b)")
    assert problem is not None and problem.startswith("must be an RE2 regular expression")


# --- names and values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "label"),
    [("echo", "echo"), ("My_Echo-2", "my-echo-2"), ("__", "lambda"), ("a" * 62 + "_b", "a" * 62), ("-x-", "x")],
)
def test_dns_label_for(name: str, label: str) -> None:
    assert dns_label_for(name) == label
    assert DNS_LABEL_RE.match(dns_label_for(name))


def test_plain_and_whole_read_inputs_as_a_provider_hands_them() -> None:
    assert plain(PathMatch.EXACT) == "Exact" and plain("Exact") == "Exact" and plain(None) is None
    assert whole(128) == 128 and whole(128.0) == 128
    assert whole(128.5) is None and whole(True) is None and whole("128") is None


def test_credentials_mode_defaults_to_generated() -> None:
    assert credentials_mode({}) == "generated"
    assert credentials_mode({"mode": None}) == "generated"
    assert credentials_mode({"mode": "irsa"}) == "irsa"


# --- trust policies ------------------------------------------------------------------------------------------


def test_the_irsa_trust_policy_names_the_proxys_service_account_through_the_issuer() -> None:
    (statement,) = json.loads(irsa_trust_policy(OIDC_PROVIDER, "system:serviceaccount:kgateway-system:http"))[
        "Statement"
    ]
    assert statement["Principal"] == {"Federated": OIDC_PROVIDER}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            f"{OIDC_ISSUER}:sub": "system:serviceaccount:kgateway-system:http",
            f"{OIDC_ISSUER}:aud": "sts.amazonaws.com",
        }
    }


def test_the_assume_role_trust_policy_trusts_exactly_the_ambient_role() -> None:
    (statement,) = json.loads(assume_role_trust_policy(AMBIENT_ROLE))["Statement"]
    assert statement == {"Effect": "Allow", "Principal": {"AWS": AMBIENT_ROLE}, "Action": "sts:AssumeRole"}


def test_the_invoke_policy_lists_each_arn_once_sorted() -> None:
    (statement,) = json.loads(invoke_only_policy(["b", "a", "b"]))["Statement"]
    assert statement["Resource"] == ["a", "b"]
    assert statement["Action"] == "lambda:InvokeFunction"


# --- kgateway lines ------------------------------------------------------------------------------------------


def test_versions_with_lists_lines_oldest_first() -> None:
    assert versions_with(lambda version: True) == list(KGATEWAY_VERSIONS)
    assert versions_with(lambda version: False) == []
    with_assume_role = versions_with(lambda version: version.has_assume_role_auth)
    assert with_assume_role == list(KGATEWAY_VERSIONS)[list(KGATEWAY_VERSIONS).index(with_assume_role[0]) :]


def test_effective_payload_mode_only_where_the_field_exists() -> None:
    for version in KGATEWAY_VERSIONS.values():
        if version.has_payload_transform_mode:
            assert effective_payload_mode(version, None) == "None"
            assert effective_payload_mode(version, "Envoy") == "Envoy"
        else:
            assert effective_payload_mode(version, "Envoy") is None


def test_protection_problems_name_the_first_line_that_has_the_kind() -> None:
    oldest, newest = next(iter(TRAFFIC_POLICY_SUPPORT.values())), list(TRAFFIC_POLICY_SUPPORT.values())[-1]
    missing = sorted(newest.kinds - oldest.kinds)
    assert missing, "the oldest line lacks nothing the newest has: pick another pair"
    problems = protection_problems(oldest, set(missing))
    assert len(problems) == len(missing)
    for kind, problem in zip(missing, problems, strict=True):
        assert f"protection {kind} " in problem and f"first in kgateway {first_line_with(kind)}" in problem
    assert protection_problems(newest, set(newest.kinds)) == []
    assert first_line_with("no-such-kind") is None


# --- rate limits and durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "ms"), [("1s", 1000), ("250ms", 250), ("1m30s", 90_000), ("2h", 7_200_000)])
def test_duration_ms(text: str, ms: int) -> None:
    assert duration_ms(text) == ms


# Bursts at least the smallest exact fill (check_rate_limit refuses smaller ones).
@pytest.mark.parametrize(
    ("rate", "period_ms", "burst"),
    [(10, 1000, None), (120, 60_000, 20), (30, 1000, 5), (1000, 1000, 50), (100, 60_000, 2), (7, 1000, 7)],
)
def test_a_token_bucket_gives_exactly_the_rate_and_never_fills_faster_than_envoy_allows(
    rate: int, period_ms: int, burst: int | None
) -> None:
    bucket = token_bucket(rate, period_ms, burst)
    interval = duration_ms(bucket.fill_interval)
    assert interval >= MIN_FILL_MS
    assert bucket.max_tokens == (rate if burst is None else burst)
    assert bucket.tokens_per_fill * period_ms == rate * interval  # exactly `rate` per period, in the long run
    assert bucket.tokens_per_fill <= bucket.max_tokens  # a fill never overflows the bucket
