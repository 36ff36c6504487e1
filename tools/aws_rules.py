"""AWS's and Pulumi's limits on what we create, enforced by every mock (moto enforces none of them).

Sources:
- Pulumi's auto-naming (pulumi-terraform-bridge `AutoName` → `resource.NewUniqueHex(name + "-", 7, maxlen)`,
  pulumi/pulumi `sdk/go/common/resource/urn.go`): a resource without an explicit name gets `<logical name>-`
  plus 7 random hex characters, and a name longer than the type's maximum is refused with
  "name '<prefix>' plus 7 random chars is longer than maximum length <max>".
- IAM quotas (AWS IAM User Guide, "IAM and AWS STS quotas", reference_iam-quotas): user and role names at most
  64 characters, policy names 128, of `[\\w+=,.@-]`; the inline policies of a user at most 2,048 characters in
  total and of a role 10,240, a managed policy 6,144 (whitespace not counted); at most 10 managed policies
  attached to a user or role (the default quota).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

AUTONAME_RANDOM_CHARS = 7
MAX_NAME = {
    "aws:iam/role:Role": 64,
    "aws:iam/user:User": 64,
    "aws:iam/policy:Policy": 128,
    "aws:iam/userPolicy:UserPolicy": 128,
    "aws:iam/rolePolicy:RolePolicy": 128,
}
IAM_NAME_RE = re.compile(r"^[\w+=,.@-]+$")
INLINE_POLICY_LIMIT = {"aws:iam/userPolicy:UserPolicy": 2048, "aws:iam/rolePolicy:RolePolicy": 10240}
MANAGED_POLICY_LIMIT = 6144
ATTACHED_POLICIES_LIMIT = 10


class AwsLimitError(Exception):
    """What Pulumi or AWS answers when a name or policy is over its limit."""


def physical_name(type_: str, logical: str, inputs: dict[str, Any], suffix: str | None = None) -> str:
    """The name AWS gets: the explicit one, or Pulumi's auto-name (`suffix` here, 7 random hex chars for real)."""
    explicit = inputs.get("name")
    limit = MAX_NAME.get(type_)
    if explicit:
        name = str(explicit)
    else:
        prefix = f"{logical}-"
        if limit is not None and len(prefix) + AUTONAME_RANDOM_CHARS > limit:
            raise AwsLimitError(
                f"could not make instance of '{type_}': name '{prefix}' plus {AUTONAME_RANDOM_CHARS} random chars "
                f"is longer than maximum length {limit}"
            )
        name = prefix + (suffix or hashlib.sha256(logical.encode()).hexdigest())[:AUTONAME_RANDOM_CHARS]
    if limit is not None and (len(name) > limit or not IAM_NAME_RE.match(name)):
        raise AwsLimitError(
            f"ValidationError: 1 validation error detected: Value '{name}' failed to satisfy constraint: Member must "
            f"have length less than or equal to {limit} and match [\\w+=,.@-]+"
        )
    return name


def policy_size(document: str) -> int:
    """A policy's size as IAM counts it: characters other than white space."""
    return len(re.sub(r"\s", "", document))


def check_managed_policy(document: str) -> None:
    if policy_size(document) > MANAGED_POLICY_LIMIT:
        raise AwsLimitError(
            f"LimitExceeded: Cannot exceed quota for PolicySize: {MANAGED_POLICY_LIMIT} "
            f"(this one is {policy_size(document)})"
        )


def check_inline_policies(type_: str, owner: str, documents: list[str]) -> None:
    """The aggregate of one user's (or role's) inline policies."""
    limit = INLINE_POLICY_LIMIT[type_]
    total = sum(policy_size(document) for document in documents)
    if total > limit:
        kind = "user" if "user" in type_ else "role"
        raise AwsLimitError(f"LimitExceeded: Maximum policy size of {limit} bytes exceeded for {kind} {owner}")


def check_attachments(owner: str, count: int) -> None:
    if count > ATTACHED_POLICIES_LIMIT:
        raise AwsLimitError(
            f"LimitExceeded: Cannot exceed quota for PoliciesPerUser/Role: {ATTACHED_POLICIES_LIMIT} ({owner})"
        )


def compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


class IamState:
    """What the limits are counted over: inline policies and attachments per user or role."""

    def __init__(self) -> None:
        self.inline: dict[tuple[str, str], list[str]] = {}
        self.attached: dict[str, int] = {}


def enforce_iam_limits(state: IamState, type_: str, name: str, inputs: dict[str, Any]) -> None:
    """Refuse, as IAM would, a resource over its size or count limit (plain inputs; unknowns are not counted)."""
    policy = inputs.get("policy")
    if type_ == "aws:iam/policy:Policy" and isinstance(policy, str):
        check_managed_policy(policy)
    if type_ in INLINE_POLICY_LIMIT and isinstance(policy, str):
        owner = str(inputs.get("user") or inputs.get("role"))
        documents = state.inline.setdefault((type_, owner), [])
        documents.append(policy)
        check_inline_policies(type_, owner, documents)
    if type_ in (
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    ):
        owner = str(inputs.get("user") or inputs.get("role"))
        state.attached[owner] = state.attached.get(owner, 0) + 1
        check_attachments(owner, state.attached[owner])
