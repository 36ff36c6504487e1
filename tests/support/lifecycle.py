"""A deploy harness: the real program on Pulumi's mock engine, where every `aws:` resource is really made in moto.

Like `pulumi up`, it keeps state between runs, by URN: a resource known under an alias moves without a change; one
whose inputs did not change is left alone; one whose inputs changed is updated, or replaced where the provider
replaces (create-before-delete; pulumi-kubernetes deletes a named object first); what a run no longer declares is
deleted after everything else, dependents before what they depend on (from the program's own dependency graph).
`destroy()` deletes everything in that order. Kubernetes objects go to an in-memory API server (`Cluster`) that
refuses AlreadyExists and validates against the real CRDs. A resource type the harness has no model of fails.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import boto3
import pulumi

from components.kgateway_api import CRD_TYPE
from program.crd_validation import CRDS, MAIN, V2_2
from tests.support.aws_models import PUBLISHED_OUTPUTS, AwsModels, aws_replaces
from tests.support.cluster import AlreadyExistsError, Cluster
from tests.support.plans import Plan, PlannedStep, check_delete, check_step
from tests.support.providers import (
    cluster_identity,
    default_provider_config,
    kubernetes_config_replaces,
    kubernetes_diff,
    provider_key,
    random_bytes_state,
)
from tests.support.state import CREATED, Deployed, Key, comparable, has_unknowns, is_unknown
from tools.engine import (
    ProgramRun,
    Registration,
    current_registration,
    reveal,
    run_before_create_hooks,
    run_program,
    stack_config,
)
from tools.engine_answers import (
    inventory_invoke_result,
    read_crd_file,
    region_invoke_result,
    stack_outputs_result,
    tagged_resources_result,
)

RANDOM_BYTES = "random:index/randomBytes:RandomBytes"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
# The Backend CRD each version of kgateway's CRD chart installs (oci://cr.kgateway.dev/kgateway-dev/charts/kgateway-crds).
CRD_CHARTS = {"v2.2.0": CRDS / f"{V2_2}-backends.yaml", "v2.4.0": CRDS / f"{MAIN}-backends.yaml"}


def _state_urn(key_urn: str) -> str:
    """The URN a state entry has in the engine's snapshot: an old half of a replacement (kept here under
    `<urn>#replaced-N`) has the URN of the resource that replaced it."""
    return key_urn.split("#", 1)[0]


class MotoDeployment(pulumi.runtime.Mocks):
    """`pulumi up` / `pulumi destroy` of the real program, with AWS in moto and Kubernetes in `Cluster`.

    What it follows, step by step (each rule names its upstream source where it is enforced):
    - every `up` is a preview (a dry run: nothing made, creates answer with their inputs only) then the update;
      a preview that fails fails the `up` (pulumi/pulumi pkg/cmd/pulumi/operations/up.go: `pulumi up` previews
      first unless --skip-preview);
    - reads run in both and are answered from the cluster (pulumi/pulumi pkg/resource/deploy/step.go `ReadStep`);
    - read <-> managed transitions and replacements as pulumi/pulumi pkg/resource/deploy/step_generator.go does
      them; Kubernetes replacements as pulumi-kubernetes' Diff decides them.
    """

    def __init__(
        self,
        session: boto3.Session,
        endpoint_url: str | None = None,
        gateway: dict[str, Any] | None = None,
        *,
        with_gateway: bool = True,
    ):
        self.session = session
        self.region = session.region_name
        self.aws = AwsModels(session, endpoint_url)
        self.deployed: dict[Key, Deployed] = {}
        self._declared: list[Key] = []
        self._replaced: list[Key] = []  # old resources a replacement made, deleted after the run
        self.changes: list[tuple[str, Key]] = []  # what the last run did: (create|update|replace|delete|alias, key)
        self.invokes: list[tuple[str, bool]] = []  # every invoke the program made: (token, during a preview)
        self.stack_outputs: dict[str, Any] = {}  # the last completed update's plain outputs
        # One in-memory API server per cluster (`cluster_of`); `cluster` is the one the stack's default Kubernetes
        # provider reaches, and every other cluster starts as it did (kgateway's CRDs, the guide's Gateway).
        self.cluster = Cluster(gateway, with_gateway=with_gateway)
        self.clusters: dict[str, Cluster] = {}
        self._cluster_setup: tuple[dict[str, Any] | None, bool] = (gateway, with_gateway)
        # What the program reads of the cluster itself (program/cluster_lookup.py), in preview and up alike.
        self.cluster_lookup = self.cluster
        self._lock = threading.RLock()
        self.dry_run = False
        self._target_replace: set[str] = set()
        self._default_providers: dict[str, dict[str, Any]] = {}
        self.saved_plan: Plan | None = None  # the plan the last `preview(save_plan=True)` made
        self._plan: Plan | None = None  # the plan this `up` follows
        self._previewed: set[str] = set()  # the state URNs the preview registered (the rest it plans to delete)
        self._provider_configs: dict[str, dict[str, Any]] = {}  # provider reference -> its config in this run

    # --- the pulumi up / destroy lifecycle -------------------------------------------------------------
    def up(
        self,
        config: dict[str, str],
        secret_keys: list[str] | None = None,
        *,
        target_replace: tuple[str, ...] | list[str] = (),
        skip_preview: bool = False,
        plan: Plan | None = None,
        **options: Any,
    ) -> ProgramRun:
        """Like `pulumi up [--target-replace URN ...] [--skip-preview]`: a preview first (nothing is made; its
        failure is the `up`'s) unless skipped, then creates and updates as the program registers (dependencies
        first), then deletes what it no longer declares, and the old halves of replacements, dependents before
        what they depend on. `skip_preview` is also the Automation API's `up()` (pulumi sdk/python
        automation/_stack.py `Stack.up`: `up --yes --skip-preview`)."""
        self.aws.stack = str(options.get("stack", "test"))
        self._default_providers = default_provider_config(config)
        self._target_replace = set(target_replace)
        if not skip_preview:  # pulumi/pulumi pkg/cmd/pulumi/operations/up.go `--skip-preview`
            self.preview(config, secret_keys, **options)
        # `--plan FILE` (up.go: it needs the preview, never with --skip-preview): every step checked against it.
        assert plan is None or not skip_preview
        self._begin(dry_run=False)
        self._plan = plan
        try:
            run = run_program(self, config, secret_keys, **options)
            doomed = [k for k in self.deployed if k not in self._declared] + self._replaced
            for doomed_key in doomed if plan is not None else []:
                check_delete(plan, _state_urn(doomed_key[1]))  # type: ignore[arg-type]
        finally:
            self._plan = None
        self._delete_all(doomed)
        # The stack's outputs as the engine saves them at the end of an update (a failed run leaves the old ones).
        self.stack_outputs = {k: reveal(v) for k, v in run.outputs.items() if k not in run.secret_outputs}
        return run

    def preview(
        self, config: dict[str, str], secret_keys: list[str] | None = None, *, save_plan: bool = False, **options: Any
    ) -> ProgramRun:
        """`pulumi preview [--save-plan]`: the program run as a dry run; AWS, the cluster and the state are left as
        they are. With `save_plan`, `saved_plan` holds the plan (each resource's op and goal, and the deletes)."""
        self._default_providers = default_provider_config(config)
        self._begin(dry_run=True)
        self.saved_plan = Plan() if save_plan else None
        self._previewed = set()
        try:
            run = run_program(self, config, secret_keys, preview=True, **options)
        finally:
            self.dry_run = False
        if self.saved_plan is not None:
            self.saved_plan.deletes = {urn for _, urn in self.deployed if urn not in self._previewed}
        return run

    def _begin(self, *, dry_run: bool) -> None:
        self.dry_run = dry_run
        self._declared, self._replaced, self._provider_configs = [], [], {}
        if not dry_run:
            self.changes = []

    def destroy(self) -> None:
        self._delete_all(list(self.deployed))

    def _delete_all(self, keys: list[Key]) -> None:
        """Dependents first, over the old state's dependency graph (the dependencies and parents each resource had
        when it was made or last updated), as pulumi/pulumi pkg/resource/deploy/step_generator.go `ScheduleDeletes`
        orders every delete of a run, the old halves of create-first replacements among them: a condemned resource
        goes only once no other condemned resource depends on its URN (`getDepgraphForScheduling` builds the graph
        from the previous snapshot, where an old half still has its URN).

        Among deletes the graph leaves unordered, the oldest goes first: the order most likely to break when an
        edge is missing (a Secret made before its Backend would go before it), so a wrong `depends_on` shows up
        here as a wrong order or a refused delete instead of passing by luck.
        """
        pending = set(keys)
        while pending:
            needed = {d for k in pending for d in self.deployed[k].depends_on}
            ready = [k for k in pending if _state_urn(k[1]) not in needed]
            if not ready:
                raise AssertionError(f"a dependency cycle among {sorted(pending)}")
            key = min(ready, key=lambda k: (self.deployed[k].created, k))
            self._delete(key)
            pending.discard(key)

    def _delete(self, key: Key) -> None:
        resource = self.deployed.pop(key)
        if resource.external:
            # A read (or relinquished) resource leaves the state only: the engine never asks its provider to
            # delete it (pulumi/pulumi step.go `DeleteStep.Apply` skips the provider for `External` state).
            self.changes.append(("discard", key))
            return
        self.changes.append(("delete", key))
        deleter = self.aws.deleters().get(resource.type)
        if deleter is not None:
            deleter(resource)
        elif resource.type.startswith("kubernetes:") and resource.type != HELM_RELEASE:  # an uninstall keeps CRDs
            self.cluster_of(resource.provider_config).delete(resource.type, resource.inputs)

    # --- pulumi.runtime.Mocks --------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        # The SDK registers from several threads; the engine keeps one state, written one step at a time.
        with self._lock:
            return self._new_resource(args)

    def _old(self, key: Key, alias_urns: tuple[str, ...]) -> Key | None:
        """Where the state has this resource: under its URN, or under one of its aliases."""
        if key in self.deployed:
            return key
        for alias in alias_urns:
            found = next((k for k in self.deployed if k[1] == alias), None)
            if found is not None:
                return found
        return None

    def _new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:  # noqa: PLR0911
        registration = current_registration()
        assert registration is not None
        key: Key = (args.typ, registration.urn)
        depends_on = (*registration.dependencies, *([registration.parent] if registration.parent else []))
        old_key = self._old(key, registration.alias_urns)
        if not self.dry_run:
            self._declared.append(key)
            if old_key is not None and old_key != key:  # known under an alias: the same resource, it moves
                self.deployed[key] = self.deployed.pop(old_key)
                self.changes.append(("alias", key))
        previous = self.deployed.get(key if not self.dry_run else old_key) if old_key is not None else None
        if self.dry_run and old_key is not None:
            self._previewed.add(old_key[1])
        if not registration.read and (self._plan is not None or self.saved_plan is not None):
            self._plan_step(key, args, registration, previous)
        if registration.read:
            return self._read(key, args, previous, depends_on)
        if not args.custom:  # a component: nothing of its own in AWS or the cluster
            if not self.dry_run:
                self.deployed[key] = Deployed(args.typ, args.name, "", dict(args.inputs), dict(args.inputs), depends_on)
            return "", dict(args.inputs)
        provider_config = self._provider_config(args.typ, registration.provider)
        if args.typ.startswith("pulumi:providers:"):
            self._provider_configs[provider_key(registration.urn)] = dict(args.inputs)
        if previous is None:
            return self._create(key, args, depends_on, registration.provider, provider_config)
        if previous.external:
            # pulumi/pulumi step_generator.go `generateSteps`, "Case 2: wasExternal": a resource that was read and
            # is now registered is created ("creating instead"), and the read entry is discarded afterwards.
            return self._replace(key, previous, args, depends_on, registration, delete_first=False)
        replace, delete_first = self._diff(key, previous, args, registration.provider, provider_config)
        if registration.delete_before_replace is not None:  # the caller's option overrides the provider's choice
            delete_first = registration.delete_before_replace
        if replace:  # the old half keeps its old dependencies: its delete is scheduled over the old graph
            return self._replace(key, previous, args, depends_on, registration, delete_first=delete_first)
        if not self.dry_run:
            previous.depends_on = depends_on
        if comparable(previous.inputs) == comparable(args.inputs):
            # A SameStep (pulumi/pulumi pkg/resource/deploy/step.go `SameStep.Apply`): the new state keeps the old
            # ID and outputs, and takes the new registration's inputs, so a value that became a secret is saved as
            # one (and the next diff starts from it).
            if not self.dry_run:
                previous.inputs = dict(args.inputs)
                previous.provider, previous.provider_config = registration.provider, provider_config
            return previous.id, previous.state
        return self._update(key, previous, args, registration.provider, provider_config)

    def _plan_step(
        self, key: Key, args: pulumi.runtime.MockResourceArgs, registration: Registration, previous: Deployed | None
    ) -> None:
        """Record the step and goal in the plan a `preview --save-plan` makes, or check them against the plan an
        `up --plan` follows (tests/support/plans.py, after pulumi/pulumi plan.go and step_generator.go)."""
        targeted = key[1] in self._target_replace
        if previous is None:
            op = "create"
        elif previous.external or (
            args.custom
            and self._diff(
                key, previous, args, registration.provider, self._provider_config(args.typ, registration.provider)
            )[0]
        ):
            op = "replace"
        else:
            op = "same" if comparable(previous.inputs) == comparable(args.inputs) else "update"
        # step_generator.go: a create, a read entry now managed, or a targeted replace is diffed against nothing.
        diffed = previous is not None and not previous.external and not targeted
        step = PlannedStep(
            op,
            bool(args.custom),
            registration.parent,
            registration.provider,
            registration.delete_before_replace,
            tuple(sorted(registration.dependencies)),
            dict(previous.inputs) if diffed and previous is not None else {},
            dict(args.inputs),
        )
        if self.dry_run and self.saved_plan is not None:
            self.saved_plan.steps[key[1]] = step
        elif not self.dry_run and self._plan is not None:
            check_step(self._plan, key[1], step)

    def cluster_of(self, provider_config: dict[str, Any] | None) -> Cluster:
        """The API server a Kubernetes provider with this config reaches: one per cluster, by `cluster_identity`."""
        identity = cluster_identity(provider_config or {})
        if identity == cluster_identity(self._default_providers.get("kubernetes", {})):
            return self.cluster
        if identity not in self.clusters:
            gateway, with_gateway = self._cluster_setup
            self.clusters[identity] = Cluster(gateway, with_gateway=with_gateway)
        return self.clusters[identity]

    def _provider_config(self, type_: str, reference: str) -> dict[str, Any]:
        """The config of the provider a resource goes through: an explicit provider's inputs, or the package's
        default provider's (the `<package>:*` stack config, as the engine configures default providers)."""
        if reference:
            return self._provider_configs.get(provider_key(reference.rsplit("::", 1)[0]), {})
        return self._default_providers.get(type_.split(":", 1)[0], {})

    def _diff(
        self,
        key: Key,
        previous: Deployed,
        args: pulumi.runtime.MockResourceArgs,
        provider: str,
        provider_config: dict[str, Any],
    ) -> tuple[bool, bool]:
        """(replace, delete_before_replace) as pulumi/pulumi step_generator.go `diff` reaches them: a targeted
        replace (--target-replace) first, then a provider change whose new provider's DiffConfig asks for a
        replacement (`providerChanged`), both create-before-delete; else the provider's own Diff."""
        if key[1] in self._target_replace:
            return True, False
        # pulumi/pulumi step_generator.go `providerChanged`: a new provider reference replaces the resource when
        # the new provider's DiffConfig between the two configs asks for it.
        moved = previous.provider != provider
        if (
            args.typ.startswith("kubernetes:")
            and moved
            and kubernetes_config_replaces(previous.provider_config, provider_config)
        ):
            return True, False
        if args.typ.startswith("kubernetes:"):
            return kubernetes_diff(args.typ, previous.inputs, dict(args.inputs))
        if args.typ == "pulumi:providers:kubernetes":
            return kubernetes_config_replaces(previous.inputs, dict(args.inputs)), False
        return aws_replaces(args.typ, previous.inputs, dict(args.inputs)), False

    def _read(
        self, key: Key, args: pulumi.runtime.MockResourceArgs, previous: Deployed | None, depends_on: tuple[str, ...]
    ) -> tuple[str, dict[str, Any]]:
        """A read, in the preview and in the update alike (pulumi/pulumi step.go `ReadStep.Apply`: "Unlike most
        steps, Read steps run during previews"), answered by the cluster; a missing object fails with the
        engine's words. A managed resource now read under the same URN is released from management when the IDs
        match ("relinquish": never deleted), else it is deleted after the run (step_generator.go
        `GenerateReadSteps`, read-replacement)."""
        resource_id = str(args.resource_id)
        if self.dry_run and is_unknown(resource_id):  # step.go `ReadStep.Apply`: an unknown id is not read
            return "", {}
        if not args.typ.startswith("kubernetes:"):
            raise NotImplementedError(f"the moto harness has no read of {args.typ}; add one")
        registration = current_registration()
        reference = registration.provider if registration is not None else ""
        found = self.cluster_of(self._provider_config(args.typ, reference)).read(args.typ, resource_id)
        if found is None:
            raise RuntimeError(f"resource '{resource_id}' does not exist")
        if self.dry_run:
            return resource_id, found
        if previous is not None and not previous.external:
            if previous.id == resource_id:
                self.changes.append(("relinquish", key))
            else:
                old_key: Key = (key[0], f"{key[1]}#read-replaced-{len(self._replaced)}")
                self.deployed[old_key] = previous
                self._replaced.append(old_key)
                self.changes.append(("read-replace", key))
        self.deployed[key] = Deployed(
            args.typ, args.name, resource_id, {}, found, depends_on, external=True, provider=""
        )
        return resource_id, found

    def _create(
        self,
        key: Key,
        args: pulumi.runtime.MockResourceArgs,
        depends_on: tuple[str, ...],
        provider: str = "",
        provider_config: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        registration = current_registration()
        if registration is not None:  # before the provider's Create, in every mode (step.go `CreateStep.Apply`)
            run_before_create_hooks(registration, args.typ, args.name, dry_run=self.dry_run)
        if self.dry_run:
            return self._preview_create(args, provider_config)
        creator = self.aws.creators().get(args.typ)
        extra: dict[str, Any]
        if creator is not None:
            resource_id, extra = creator(args.name, reveal(args.inputs))
        elif args.typ == HELM_RELEASE:
            resource_id, extra = self._helm_install(args, provider_config, revision=1)
        elif args.typ.startswith("kubernetes:"):
            resource_id, extra = self.cluster_of(provider_config).create(args.typ, reveal(args.inputs)), {}
        elif args.typ.startswith("pulumi:providers:"):
            resource_id, extra = f"{args.name}-{next(CREATED)}", {}
        elif args.typ == RANDOM_BYTES:
            resource_id, extra = f"{args.name}-{next(CREATED)}", random_bytes_state(reveal(args.inputs))
        else:
            raise NotImplementedError(f"the moto harness has no model of {args.typ}; add one")
        state = {**args.inputs, **extra}
        self.deployed[key] = Deployed(
            args.typ,
            args.name,
            resource_id,
            dict(args.inputs),
            state,
            depends_on,
            provider=provider,
            provider_config=dict(provider_config or {}),
        )
        self.changes.append(("create", key))
        return resource_id, state

    def _helm_install(
        self, args: pulumi.runtime.MockResourceArgs, provider_config: dict[str, Any] | None, *, revision: int
    ) -> tuple[str, dict[str, Any]]:
        """A Helm release of kgateway's CRD chart: its version's Backend CRD installed (replacing the cluster's),
        and the release's `status` with its revision (helm upgrade counts them)."""
        inputs = reveal(args.inputs)
        crd = read_crd_file(CRD_CHARTS[str(inputs["version"])])
        self.cluster_of(provider_config).install(CRD_TYPE, crd)
        name = f"{inputs.get('namespace', 'default')}/{inputs.get('name') or args.name}"
        return name, {"status": {"revision": revision, "status": "deployed", "version": inputs["version"]}}

    def _preview_create(
        self, args: pulumi.runtime.MockResourceArgs, provider_config: dict[str, Any] | None
    ) -> tuple[str, dict[str, Any]]:
        """A create in a dry run: no ID, and the inputs only (the SDK then treats every other output as unknown).

        pulumi/pulumi-kubernetes provider/pkg/provider/provider.go `Create` with preview: when the inputs are all
        known it sends a dry-run create, so the API server's validation refuses a bad object at preview; an
        AlreadyExists from that dry run is dropped in the default (server-side apply) mode ("failedPreview"): the
        name collision fails the `up` itself, at that create.
        """
        if args.typ.startswith("kubernetes:") and args.typ != HELM_RELEASE and not has_unknowns(args.inputs):
            with contextlib.suppress(AlreadyExistsError):
                self.cluster_of(provider_config).create(args.typ, reveal(args.inputs), dry_run=True)
        return "", dict(args.inputs)

    def _update(
        self,
        key: Key,
        previous: Deployed,
        args: pulumi.runtime.MockResourceArgs,
        provider: str = "",
        provider_config: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        if args.typ == HELM_RELEASE:
            # pulumi/pulumi-kubernetes provider/pkg/provider/helm_release.go `Update`: a preview makes `status`
            # (and `resourceNames`) unknown (`checkpointRelease`); the update upgrades the release.
            state = {**args.inputs}
            if not self.dry_run:
                revision = int(previous.state["status"]["revision"]) + 1
                state.update(self._helm_install(args, provider_config, revision=revision)[1])
        elif args.typ.startswith("kubernetes:"):
            known = not has_unknowns(args.inputs)
            if known or not self.dry_run:  # a dry-run apply when the inputs are known, as pulumi-kubernetes' Update
                self.cluster_of(provider_config).update(args.typ, reveal(args.inputs), dry_run=self.dry_run)
            state = dict(args.inputs)
        elif args.typ.startswith("pulumi:providers:"):
            state = dict(args.inputs)
        else:
            updater = self.aws.updaters().get(args.typ)
            if updater is None:
                raise NotImplementedError(f"the moto harness cannot update {args.typ} {args.name}")
            if self.dry_run:
                planned = {**previous.state, **args.inputs}
                if args.typ == "aws:lambda/function:Function" and reveal(args.inputs).get("publish"):
                    planned = {k: v for k, v in planned.items() if k not in PUBLISHED_OUTPUTS}
                return previous.id, planned
            state = {**previous.state, **args.inputs, **updater(previous, dict(args.inputs))}
        if self.dry_run:
            return previous.id, state
        self.changes.append(("update", key))
        self.deployed[key] = Deployed(
            args.typ,
            args.name,
            previous.id,
            dict(args.inputs),
            state,
            previous.depends_on,
            previous.created,
            provider=provider,
            provider_config=dict(provider_config or {}),
        )
        return previous.id, state

    def _replace(
        self,
        key: Key,
        previous: Deployed,
        args: pulumi.runtime.MockResourceArgs,
        depends_on: tuple[str, ...],
        registration: Registration,
        *,
        delete_first: bool,
    ) -> tuple[str, dict[str, Any]]:
        """A replacement: create-before-delete (the old one goes after the run) unless delete-before-replace
        (pulumi/pulumi step_generator.go: "CreateBeforeDelete: the default mode"; the provider asks for
        DeleteBeforeCreate, and the caller's `deleteBeforeReplace` overrides it)."""
        provider_config = self._provider_config(args.typ, registration.provider)
        if self.dry_run:
            return self._preview_create(args, provider_config)
        old_key: Key = (key[0], f"{key[1]}#replaced-{len(self._replaced)}")
        self.deployed[old_key] = previous
        del self.deployed[key]
        if delete_first:
            self._delete(old_key)
            self.changes.append(("replace", key))
            return self._create(key, args, depends_on, registration.provider, provider_config)
        self.changes.append(("replace", key))
        self._replaced.append(old_key)
        try:
            return self._create(key, args, depends_on, registration.provider, provider_config)
        except Exception:
            self._replaced.remove(old_key)
            # The create of a create-before-delete failed: the old resource stays in the state under its URN, as
            # the engine's snapshot keeps it (nothing was replaced).
            self.deployed[key] = self.deployed.pop(old_key)
            raise

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        with self._lock:
            return self._call(args)

    def _call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.invokes.append((args.token, self.dry_run))
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            who = self.aws.sts.get_caller_identity()
            return {"accountId": who["Account"], "arn": who["Arn"], "userId": who["UserId"], "id": who["Account"]}, []
        regional = region_invoke_result(args.token, self.region)
        if regional is not None:
            return regional, []
        tagged = tagged_resources_result(args.token, args.args, "aws", self.aws.tagging_page)
        if tagged is not None:
            return tagged, []
        listed = inventory_invoke_result(args.token, args.args, self.aws.functions(), self.aws.log_groups())
        if listed is not None:
            return listed, []
        previous = stack_outputs_result(args.token, args.args, self.stack_outputs)
        if previous is not None:
            return previous, []
        raise NotImplementedError(f"the moto harness has no model of the call {args.token}")


def dev_config(**overrides: str) -> dict[str, str]:
    """The dev stack's config (stacks/Pulumi.dev.yaml) with some `kgateway-lambda:` keys set."""
    config, _ = stack_config("dev")
    config.update({f"kgateway-lambda:{k}": v for k, v in overrides.items()})
    return config


def generated_key(deployment: MotoDeployment) -> dict[str, str]:
    """The one access key the deployment made (its ID and secret, from the state)."""
    keys = [d for d in deployment.deployed.values() if d.type == "aws:iam/accessKey:AccessKey"]
    assert len(keys) == 1
    return {"id": keys[0].id, "secret": keys[0].state["secret"]}


def secret_data(deployment: MotoDeployment) -> dict[str, str]:
    """What the deployment's Secret `aws-creds` holds (from the state)."""
    secret = next(d for d in deployment.deployed.values() if d.type == "kubernetes:core/v1:Secret")
    data: dict[str, str] = reveal(secret.state["stringData"])
    return data


# The last commit of 0.1: the program as it was before the component package (af51791).
RELEASE_0_1 = "af51791^"
