"""Manifests for the Pulumi Kubernetes Operator (PKO v2): a cluster reconciles one stack of this repository.

`python -m tools operator --stack NAME --repo URL --branch B [--out DIR]` plans the stack offline (the real
program, `tools/plan.py`'s mocks), derives its grants from the plan (`tools/grants.py`) and writes:
- `stack.yaml`: the workspace's ServiceAccount, its RBAC (a Role per namespace the stack writes or reads, a
  ClusterRole of named CRD reads, the `system:auth-delegator` binding PKO requires) and the `Stack`;
- `aws/`: the deploying identity's policy and trust policy (EKS Pod Identity or IRSA), and the statements the
  state bucket's and the secrets key's policies need.
Everything is validated before it is written: the Stack against PKO's own CRD (program/crds/pko, strict fields,
defaults, CEL), the Workspace PKO makes of it against the Workspace CRD, each Role and ClusterRole as the API
server validates RBAC (`tools/rbac.py`).

How PKO runs it (pulumi/pulumi-kubernetes-operator at tag v2.9.0, commit b713fae5a35041d899b0f64151a151f3df068ad1):
- `operator/internal/controller/pulumi/stack_controller.go`: the Stack becomes a Workspace named after it
  (`NewWorkspace`), `serviceAccountName`, `backend` (as `PULUMI_BACKEND_URL`) and `secretsProvider` (used when the
  stack is created) set in `setupWorkspace`, `workspaceTemplate` merged on top; every update is
  `pulumi up` with `refresh` from the Stack (`newUp`); with `continueResyncOnCommitMatch` a stack is run again
  every `resyncFrequencySeconds` (minimum 60) even without a new commit (`isSynced`, `resyncFreq`): that run's
  refresh is what reverts hand edits; a branch is polled at the same period. Deleting a Stack destroys only with
  `destroyOnFinalize`.
- `operator/internal/controller/auto/workspace_controller.go`: the pod runs the `pulumi` container with the
  given image in `/share/workspace` (the repository's `repoDir`), and the controller asks the agent to install
  the project's dependencies (`Install`, i.e. `pulumi install`: here pip into `.venv` from requirements.txt, as
  Pulumi.yaml's runtime options say) before any update.
- pulumi/pulumi-kubernetes-operator `docs/migration.md`: the workspace's ServiceAccount needs
  `system:auth-delegator` (the agent checks the operator's token with TokenReview/SubjectAccessReview); the
  stack's own objects need their own grants.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from program.cluster_lookup import NoCluster
from program.config import PROJECT
from program.crd_validation import CRDS, schema_errors
from tools import grants
from tools.engine import ProgramRun, run_program, stack_config
from tools.plan import PlaceholderMocks
from tools.rbac import Request, role_problems

PKO_CRDS = CRDS / "pko"
STACK_CRD = PKO_CRDS / "pko-v2.9.0-pulumi.com_stacks.yaml"
# The Pulumi CLI image with Python (and Node.js, which `functionSource` builds need): the CLI matching the SDK in
# requirements.txt, in the non-root variant PKO's default `restricted` security profile runs.
WORKSPACE_IMAGE = "pulumi/pulumi:3.272.0-nonroot"
DEFAULT_RESYNC_SECONDS = 300
# Settings that would point the Kubernetes provider away from the in-cluster identity of the workspace pod.
OUT_OF_CLUSTER_KEYS = ("kubernetes:kubeconfig", "kubernetes:context", "kubernetes:cluster")
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class OperatorError(ValueError):
    """A setting that cannot become a working Stack, said before anything is written."""


@dataclass(frozen=True)
class Settings:
    stack: str
    repo: str
    branch: str
    namespace: str = "pulumi-stacks"
    repo_dir: str = ""
    resync_seconds: int = DEFAULT_RESYNC_SECONDS
    image: str = WORKSPACE_IMAGE
    state_bucket: str = "kgateway-lambda-pulumi-state"
    state_region: str = "us-east-1"
    kms_key: str = "alias/kgateway-lambda-pulumi"  # an alias or key ARN, in state_region
    account: str = "111122223333"
    identity: str = "pod-identity"  # or irsa
    oidc_issuer: str = ""  # irsa: the cluster's OIDC issuer without https://

    @property
    def name(self) -> str:
        return f"{PROJECT}-{self.stack}"

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.name}-deployer"

    @property
    def backend_url(self) -> str:
        return f"s3://{self.state_bucket}?region={self.state_region}"

    @property
    def secrets_provider(self) -> str:
        return f"awskms://{self.kms_key}?region={self.state_region}"


def settings_problems(settings: Settings) -> list[str]:
    problems = []
    if len(settings.name) > 42:  # the Stack CRD's CEL rule, said before the CRD says it
        problems.append(f"--stack {settings.stack!r}: the Stack is named {settings.name!r}; PKO allows 42 characters")
    if not NAME_RE.match(settings.stack):
        problems.append(f"--stack {settings.stack!r}: must be a DNS label (lower-case letters, digits, '-')")
    if not NAME_RE.match(settings.namespace):
        problems.append(f"--namespace {settings.namespace!r}: must be a DNS label")
    if settings.identity not in ("pod-identity", "irsa"):
        problems.append(f"--identity {settings.identity!r}: must be pod-identity or irsa")
    if settings.identity == "irsa" and not settings.oidc_issuer:
        problems.append("--identity irsa needs --oidc-issuer (e.g. oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE)")
    if not re.fullmatch(r"[0-9]{12}", settings.account):
        problems.append(f"--account-id {settings.account!r}: must be 12 digits")
    return problems


def in_cluster_problems(config: dict[str, str]) -> list[str]:
    """The workspace's provider must use the pod's ServiceAccount: pulumi-kubernetes falls back to the in-cluster
    config only when no kubeconfig is set (pulumi/pulumi-kubernetes `provider/pkg/provider/provider.go` `Configure`:
    client-go's default loading rules; client-go `DeferredLoadingClientConfig.ClientConfig` uses the in-cluster
    config when the merged kubeconfig is the default one)."""
    return [
        f"{key} = {config[key]!r}: the workspace's Kubernetes provider must use the pod's in-cluster identity; "
        f"remove {key} from this stack's file (keep it in a laptop-only stack)"
        for key in OUT_OF_CLUSTER_KEYS
        if config.get(key)
    ]


class RecordingLookup(NoCluster):
    """The program's cluster lookup with no cluster behind it, keeping what it asks: (verb, kind, namespace, name)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str, str]] = []

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        self.asked.append(("get", kind, namespace, name))
        return None

    def list(self, kind: str) -> list[dict[str, Any]]:
        self.asked.append(("list", kind, "", ""))
        return []


class RecordingMocks(PlaceholderMocks):
    """The offline plan's mocks, keeping every invoke the program makes (token and arguments) and every question
    its cluster lookup asks (tools/engine.py gives the run `cluster_lookup`)."""

    def __init__(self, config: dict[str, str], tagged: dict[str, dict[str, str]] | None = None):
        super().__init__(config, tagged=tagged)
        self.invokes: list[tuple[str, dict[str, Any]]] = []
        self.cluster_lookup = RecordingLookup()

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.invokes.append((args.token, dict(args.args)))
        return super().call(args)


@dataclass
class Planned:
    run: ProgramRun
    invokes: list[tuple[str, dict[str, Any]]]
    config: dict[str, str]
    lookups: list[tuple[str, str, str, str]] = field(default_factory=list)

    def kubernetes_requests(self) -> list[Request]:
        """What the Kubernetes provider asks for the plan's objects, and what the program's own lookup asks."""
        return sorted(
            set(grants.kubernetes_requests(self.run) + grants.lookup_requests(self.lookups)),
            key=lambda r: (r.namespace, r.api_group, r.resource, r.name, r.verb),
        )

    @property
    def region(self) -> str:
        return self.config.get("aws:region", "us-east-1")


def plan_stack(stack: str, stacks_dir: Path | None = None, tagged: dict[str, dict[str, str]] | None = None) -> Planned:
    """The stack's offline plan (`tagged`: the functions `discover` finds, as in `tools plan --tagged`)."""
    config, secret_keys = stack_config(stack, stacks_dir)
    problems = in_cluster_problems(config)
    if problems:
        raise OperatorError("stack " + stack + " cannot run in a PKO workspace:\n  - " + "\n  - ".join(problems))
    mocks = RecordingMocks(config, tagged)
    run = run_program(mocks, config, secret_keys, stack=stack, preview=True)
    return Planned(run, mocks.invokes, config, mocks.cluster_lookup.asked)


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/part-of": PROJECT}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def stack_object(settings: Settings) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "serviceAccountName": settings.name,
        "projectRepo": settings.repo,
        "branch": settings.branch,
        "shallow": True,
        "stack": settings.stack,
        "backend": settings.backend_url,
        "secretsProvider": settings.secrets_provider,
        # Every resync is `pulumi up --refresh`: refresh reads the live objects, up puts back what the program says.
        "refresh": True,
        "continueResyncOnCommitMatch": True,
        "resyncFrequencySeconds": settings.resync_seconds,
        # Deleting the Stack object (by mistake, or moving a cluster off the operator) must not delete the Lambda
        # functions and routes other clusters' users reach: destroying is a deliberate `pulumi destroy`.
        "destroyOnFinalize": False,
        "workspaceTemplate": {
            "spec": {
                "image": settings.image,
                "securityProfile": "restricted",
                # A fresh pod clones the repository, whose stack file holds no secrets provider: take the one in
                # the state (pulumi/pulumi pkg/cmd/pulumi/stack/secrets.go `GetSecretsManager`, FallbackToState)
                # rather than a new default (passphrase) manager.
                "env": [{"name": "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER", "value": "true"}],
                "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
            }
        },
    }
    if settings.repo_dir:
        spec["repoDir"] = settings.repo_dir
    return {"apiVersion": "pulumi.com/v1", "kind": "Stack", "metadata": _meta(settings.name, settings.namespace),
            "spec": spec}  # fmt: skip


def _subject(settings: Settings) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": settings.name, "namespace": settings.namespace}


def rbac_objects(settings: Settings, roles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The roles with their bindings to the workspace's ServiceAccount, and PKO's auth-delegator binding."""
    objects: list[dict[str, Any]] = [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": _meta(f"{settings.name}:system:auth-delegator"),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:auth-delegator"},
         "subjects": [_subject(settings)]},
    ]  # fmt: skip
    for role in roles:
        meta = role["metadata"]
        labelled = {**role, "metadata": {**meta, **_meta(meta["name"], meta.get("namespace"))}}
        binding_kind = "RoleBinding" if role["kind"] == "Role" else "ClusterRoleBinding"
        objects += [
            labelled,
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": binding_kind,
             "metadata": _meta(meta["name"], meta.get("namespace")),
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role["kind"], "name": meta["name"]},
             "subjects": [_subject(settings)]},
        ]  # fmt: skip
    return objects


def service_account(settings: Settings) -> dict[str, Any]:
    account: dict[str, Any] = {"apiVersion": "v1", "kind": "ServiceAccount",
                               "metadata": _meta(settings.name, settings.namespace)}  # fmt: skip
    if settings.identity == "irsa":
        account["metadata"]["annotations"] = {"eks.amazonaws.com/role-arn": settings.role_arn}
    return account


def manifests(settings: Settings, planned: Planned) -> list[dict[str, Any]]:
    roles = grants.rbac_roles(planned.kubernetes_requests(), settings.name)
    return [service_account(settings), *rbac_objects(settings, roles), stack_object(settings)]


WORKSPACE_CRD = PKO_CRDS / "pko-v2.9.0-auto.pulumi.com_workspaces.yaml"
# Lists a strategic merge patch merges by `name` in a Workspace spec (`patchMergeKey=name` in PKO's
# operator/api/auto/v1alpha1/workspace_types.go and Kubernetes' PodSpec); other lists are replaced.
_MERGED_BY_NAME = frozenset({"env", "stacks", "containers", "initContainers", "volumes", "volumeMounts"})


def _strategic_merge(base: Any, patch: Any, key: str = "") -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for name, value in patch.items():
            merged[name] = _strategic_merge(base[name], value, name) if name in base else value
        return merged
    if key in _MERGED_BY_NAME and isinstance(base, list) and isinstance(patch, list):
        by_name = {item["name"]: item for item in base}
        for item in patch:
            by_name[item["name"]] = _strategic_merge(by_name[item["name"]], item) if item["name"] in by_name else item
        return list(by_name.values())
    return patch


def workspace_for(stack: dict[str, Any], commit: str) -> dict[str, Any]:
    """The Workspace PKO makes of the Stack at a commit: `NewWorkspace`, `setupWorkspaceFromGitSource` (git.go),
    `setupWorkspace`, then `workspaceTemplate` as a strategic merge patch (`patchObject`), as in
    operator/internal/controller/pulumi/stack_controller.go at v2.9.0."""
    spec = stack["spec"]
    meta = stack["metadata"]
    git = {"ref": commit, "url": spec["projectRepo"], "dir": spec.get("repoDir", ""), "shallow": spec["shallow"]}
    stack_entry = {"name": spec["stack"], "create": True, "secretsProvider": spec["secretsProvider"]}
    workspace = {
        "apiVersion": "auto.pulumi.com/v1alpha1",
        "kind": "Workspace",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                     "labels": {"pulumi.com/component": "stack", "pulumi.com/stack-name": meta["name"]}},
        "spec": {
            "podTemplate": {"spec": {"containers": [{"name": "pulumi"}]}},
            "git": {k: v for k, v in git.items() if v not in ("", False)},
            "serviceAccountName": spec["serviceAccountName"],
            "env": [{"name": "PULUMI_BACKEND_URL", "value": spec["backend"]}],
            "stacks": [stack_entry],
        },
    }  # fmt: skip
    return {**workspace, "spec": _strategic_merge(workspace["spec"], spec.get("workspaceTemplate", {}).get("spec", {}))}


def manifest_problems(objects: list[dict[str, Any]]) -> list[str]:
    """What an API server with PKO v2.9.0 installed would refuse, and RBAC rules it would refuse."""
    problems: list[str] = []
    for obj in objects:
        if obj["kind"] == "Stack":
            problems += [f"Stack {obj['metadata']['name']}: {e}" for e in schema_errors(obj, STACK_CRD, "v1")]
            workspace = workspace_for(obj, "0" * 40)  # what PKO will make of it, at any commit
            problems += [
                f"the Workspace PKO makes of Stack {obj['metadata']['name']}: {e}"
                for e in schema_errors(workspace, WORKSPACE_CRD, "v1alpha1")
            ]
        elif obj["kind"] in ("Role", "ClusterRole"):
            problems += role_problems(obj)
    return problems


def trust_policy(settings: Settings) -> dict[str, Any]:
    if settings.identity == "irsa":  # EKS User Guide, "Assign IAM roles to Kubernetes service accounts"
        issuer = settings.oidc_issuer.removeprefix("https://")
        return {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{settings.account}:oidc-provider/{issuer}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{issuer}:sub": f"system:serviceaccount:{settings.namespace}:{settings.name}",
                f"{issuer}:aud": "sts.amazonaws.com"}}}]}  # fmt: skip
    # EKS Pod Identity: the agent assumes the role with session tags naming the pod's namespace and ServiceAccount
    # (EKS User Guide, "Create IAM role with trust policy required by EKS Pod Identity", pod-id-role.html: trust
    # `pods.eks.amazonaws.com` with sts:AssumeRole and sts:TagSession, conditioned on those two request tags).
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {
            "aws:RequestTag/kubernetes-namespace": settings.namespace,
            "aws:RequestTag/kubernetes-service-account": settings.name}}}]}  # fmt: skip


def state_bucket_statements(settings: Settings) -> dict[str, Any]:
    """The state bucket's policy statements for this stack's deploying role: its own stack's objects only.
    Paths are the DIY backend's project layout (pulumi/pulumi `pkg/backend/diy/store.go` `StackBasePath`,
    `HistoryDir`, `BackupDir`; `lock.go` `stackLockDir` with `organization/<project>/<stack>`; `meta.go`
    `.pulumi/meta.yaml`, read on every run and written once by the first stack)."""
    bucket = f"arn:aws:s3:::{settings.state_bucket}"
    own = [
        f"{bucket}/.pulumi/stacks/{PROJECT}/{settings.stack}.json*",
        f"{bucket}/.pulumi/locks/organization/{PROJECT}/{settings.stack}/*",
        f"{bucket}/.pulumi/history/{PROJECT}/{settings.stack}/*",
        f"{bucket}/.pulumi/backups/{PROJECT}/{settings.stack}/*",
    ]
    principal = {"AWS": settings.role_arn}
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": f"{settings.stack}List", "Effect": "Allow", "Principal": principal, "Action": "s3:ListBucket",
         "Resource": bucket},
        {"Sid": f"{settings.stack}Meta", "Effect": "Allow", "Principal": principal,
         "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"{bucket}/.pulumi/meta.yaml"},
        {"Sid": f"{settings.stack}State", "Effect": "Allow", "Principal": principal,
         "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"], "Resource": own},
    ]}  # fmt: skip


def secrets_key_statements(settings: Settings) -> dict[str, Any]:
    """The KMS key policy statement for the deploying role: the secrets provider wraps the stack's data key with
    Encrypt (once, when the stack is created) and unwraps it with Decrypt on every run (gocloud.dev
    `secrets/awskms` keeper, which Pulumi's `awskms://` provider is)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": f"{settings.stack}Secrets", "Effect": "Allow", "Principal": {"AWS": settings.role_arn},
         "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"},
    ]}  # fmt: skip


def aws_documents(settings: Settings, planned: Planned) -> dict[str, dict[str, Any]]:
    requests = grants.aws_requests(planned.run, planned.invokes, settings.account, planned.region)
    return {
        "deployer-policy.json": grants.deployer_policy(requests),
        "trust-policy.json": trust_policy(settings),
        "state-bucket-policy.json": state_bucket_statements(settings),
        "secrets-key-policy.json": secrets_key_statements(settings),
    }


def render(objects: list[dict[str, Any]]) -> str:
    return "---\n".join(yaml.safe_dump(obj, sort_keys=False) for obj in objects)


def write(settings: Settings, planned: Planned, out: Path) -> list[Path]:
    problems = settings_problems(settings)
    objects = manifests(settings, planned)
    problems += manifest_problems(objects)
    if problems:
        raise OperatorError("refused before writing anything:\n  - " + "\n  - ".join(problems))
    documents = aws_documents(settings, planned)
    (out / "aws").mkdir(parents=True, exist_ok=True)
    written = [out / "stack.yaml"]
    written[0].write_text(render(objects))
    for name, document in documents.items():
        path = out / "aws" / name
        path.write_text(grants.policy_text(document))
        written.append(path)
    return written
