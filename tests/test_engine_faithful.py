"""The day-2 harness is as strict as the engine and the providers: each rule it models refuses what the real system
refuses (rule tests, on small programs), and the day-2 changes of issue 17 run through it (program tests)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import boto3
import pulumi
import pytest

from components.packaging import package_lambda
from program.config import PROJECT_ROOT
from tests.support.cluster import KUBECONFIG, AlreadyExistsError
from tests.support.fake_aws import oidc_provider
from tests.support.lifecycle import RELEASE_0_1, MotoDeployment, dev_config
from tests.support.programs import program
from tests.support.releases import up_release
from tools.engine import ProgramRun, current_registration, is_secret_value, run_program

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


def config_map(name: str, data: str = "one", options: str = "") -> str:
    return (
        f'k8s.core.v1.ConfigMap("cm", metadata=ObjectMetaArgs(name="{name}", namespace="default"), '
        f'data={{"k": "{data}"}}{", opts=" + options if options else ""})\n'
    )


def up(deployment: MotoDeployment, path: Path, **options: object) -> ProgramRun:
    return deployment.up({}, program=path, **options)  # type: ignore[arg-type]


def objects(deployment: MotoDeployment, kind: str = "ConfigMap") -> dict[tuple[str, str], dict[str, object]]:
    return deployment.cluster.of_kind(kind)


# --- the rules, one test each ---------------------------------------------------------------------------------


def test_a_preview_makes_nothing_and_its_failure_fails_the_up(aws: boto3.Session, tmp_path: Path) -> None:
    deployment = MotoDeployment(aws)
    deployment.preview(dev_config())
    assert aws.client("lambda").list_functions()["Functions"] == []
    assert deployment.deployed == {} and objects(deployment, "HTTPRoute") == {}
    bare = MotoDeployment(aws, with_gateway=False)  # the read of the Gateway fails in the preview...
    with pytest.raises(Exception, match="does not exist"):
        bare.up(dev_config())
    assert aws.client("lambda").list_functions()["Functions"] == []  # ...so nothing was made


def test_a_create_onto_a_taken_name_passes_preview_then_fails_the_up(aws: boto3.Session, tmp_path: Path) -> None:
    """pulumi-kubernetes drops AlreadyExists from a preview's dry-run create (server-side apply mode); the create
    itself is refused."""
    deployment = MotoDeployment(aws)
    deployment.cluster.create(CONFIG_MAP, {"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}})
    path = program(tmp_path, config_map("a"))
    deployment.preview({}, program=path)
    with pytest.raises(AlreadyExistsError):
        up(deployment, path)


def test_a_preview_validates_a_known_create(aws: boto3.Session, tmp_path: Path) -> None:
    """pulumi-kubernetes' preview of a create with known inputs is a dry-run create: the API server's validation
    (here the real Backend CRD's) refuses a bad object before anything is made."""
    bad = (
        'k8s.apiextensions.CustomResource("b", api_version="gateway.kgateway.dev/v1alpha1", kind="Backend", '
        'metadata=ObjectMetaArgs(name="b", namespace="default"), spec={"type": "NoSuchType"})\n'
    )
    deployment = MotoDeployment(aws)
    with pytest.raises(Exception, match="refuses Backend"):
        deployment.preview({}, program=program(tmp_path, bad))
    assert objects(deployment, "Backend") == {}


def test_a_read_of_a_missing_object_fails(aws: boto3.Session, tmp_path: Path) -> None:
    deployment = MotoDeployment(aws)
    with pytest.raises(Exception, match="resource 'default/a' does not exist"):
        up(deployment, program(tmp_path, 'k8s.core.v1.ConfigMap.get("cm", "default/a")\n'))


def test_create_instead_of_read_collides_with_the_object_read(aws: boto3.Session, tmp_path: Path) -> None:
    deployment = MotoDeployment(aws)
    deployment.cluster.create(CONFIG_MAP, {"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}})
    up(deployment, program(tmp_path, 'k8s.core.v1.ConfigMap.get("cm", "default/a")\n'))
    with pytest.raises(AlreadyExistsError):
        up(deployment, program(tmp_path, config_map("a")))
    # The failed create replaced nothing: the engine's snapshot keeps the read entry (step_generator.go, the
    # create-instead-of-read is create-first), and the object read is still there.
    read = [d for (_, urn), d in deployment.deployed.items() if urn.endswith("::cm")]
    assert len(read) == 1 and read[0].external, deployment.deployed
    assert ("default", "a") in objects(deployment)


def test_a_managed_object_read_under_its_urn_is_relinquished_never_deleted(aws: boto3.Session, tmp_path: Path) -> None:
    deployment = MotoDeployment(aws)
    up(deployment, program(tmp_path, config_map("a")))
    up(deployment, program(tmp_path, 'k8s.core.v1.ConfigMap.get("cm", "default/a")\n'))
    assert ("relinquish", (CONFIG_MAP, "urn:pulumi:test::kgateway-lambda::kubernetes:core/v1:ConfigMap::cm")) in (
        deployment.changes
    )
    deployment.destroy()
    assert ("default", "a") in objects(deployment)  # released from management: destroy leaves it


def test_a_name_change_is_create_before_delete(aws: boto3.Session, tmp_path: Path) -> None:
    deployment = MotoDeployment(aws)
    up(deployment, program(tmp_path, config_map("a")))
    up(deployment, program(tmp_path, config_map("b")))
    ops = [op for op, key in deployment.changes]
    assert ops == ["replace", "create", "delete"]  # the new one first, the old one after the run
    assert set(objects(deployment)) == {("default", "b")}
    deployment.cluster.create(CONFIG_MAP, {"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}})
    with pytest.raises(AlreadyExistsError):  # so a name someone else holds collides
        up(deployment, program(tmp_path, config_map("c")))


def test_same_name_replacement_deletes_first(aws: boto3.Session, tmp_path: Path) -> None:
    """A ConfigMap's data forces a replacement; the name stays, so pulumi-kubernetes deletes first."""
    deployment = MotoDeployment(aws)
    up(deployment, program(tmp_path, config_map("a", "one")))
    up(deployment, program(tmp_path, config_map("a", "two")))
    assert [op for op, _ in deployment.changes] == ["delete", "replace", "create"]
    assert objects(deployment)[("default", "a")]["data"] == {"k": "two"}
    # ... unless the caller says otherwise (deleteBeforeReplace=False overrides the provider): then it collides.
    with pytest.raises(AlreadyExistsError):
        up(
            deployment,
            program(tmp_path, config_map("a", "three", "pulumi.ResourceOptions(delete_before_replace=False)")),
        )


def test_a_change_of_secretness_alone_changes_nothing(aws: boto3.Session, tmp_path: Path) -> None:
    """The same value, now a secret, is no change: pulumi-kubernetes diffs with the secrets stripped
    (pulumi/pulumi-kubernetes provider/pkg/provider/provider.go `Diff`: `propMapToUnstructured`,
    `mapReplStripSecrets`), as the engine does when a provider does not know (pulumi/pulumi
    pkg/resource/deploy/step_generator.go `diffResource`: `unwrapResourceSecretsAndOutputs`). No diff is a
    SameStep (step.go), so nothing is replaced or updated. A changed value inside the secret still is a change."""
    deployment = MotoDeployment(aws)
    secret = 'k8s.core.v1.ConfigMap("cm", metadata=ObjectMetaArgs(name="a", namespace="default"), data={"k": %s})\n'
    up(deployment, program(tmp_path, config_map("a", "one")))
    up(deployment, program(tmp_path, secret % 'pulumi.Output.secret("one")'))
    assert [op for op, _ in deployment.changes] == []
    # ...but the state takes the new inputs, the secret among them (SameStep.Apply saves the new registration).
    (config_map_state,) = [d for (t, _), d in deployment.deployed.items() if t.endswith("ConfigMap")]
    assert is_secret_value(config_map_state.inputs["data"]), config_map_state.inputs
    up(deployment, program(tmp_path, secret % 'pulumi.Output.secret("two")'))
    assert [op for op, _ in deployment.changes] == ["delete", "replace", "create"]
    assert objects(deployment)[("default", "a")]["data"] == {"k": "two"}


def test_target_replace_is_create_before_delete_unless_delete_before_replace(
    aws: boto3.Session,
    tmp_path: Path,
) -> None:
    deployment = MotoDeployment(aws)
    up(deployment, program(tmp_path, config_map("a")))
    urn = "urn:pulumi:test::kgateway-lambda::kubernetes:core/v1:ConfigMap::cm"
    with pytest.raises(AlreadyExistsError):
        up(deployment, program(tmp_path, config_map("a")), target_replace=[urn])
    first = program(tmp_path, config_map("a", options="pulumi.ResourceOptions(delete_before_replace=True)"))
    up(deployment, first, target_replace=[urn])
    assert [op for op, _ in deployment.changes] == ["delete", "replace", "create"]


def test_a_provider_change_to_another_active_cluster_replaces_create_first(aws: boto3.Session, tmp_path: Path) -> None:
    """The new provider's DiffConfig: a different active cluster replaces every object, create-before-delete; the
    same kubeconfig does not. Each cluster is its own API server: the new object cannot collide with the old one,
    which goes from the old cluster after the run."""
    deployment = MotoDeployment(aws)
    config = {"kubernetes:kubeconfig": KUBECONFIG % "https://10.0.0.1"}
    deployment.up(config, program=program(tmp_path, config_map("a")))
    same = f'p = k8s.Provider("own", kubeconfig={config["kubernetes:kubeconfig"]!r})\n'
    deployment.up(
        config, program=program(tmp_path, same + config_map("a", options="pulumi.ResourceOptions(provider=p)"))
    )
    assert "replace" not in [op for op, _ in deployment.changes]
    other = f'p = k8s.Provider("own2", kubeconfig={KUBECONFIG % "https://cluster.example"!r})\n'
    deployment.up(
        config, program=program(tmp_path, other + config_map("a", options="pulumi.ResourceOptions(provider=p)"))
    )
    assert [op for op, key in deployment.changes if key[0] == CONFIG_MAP] == ["replace", "create", "delete"]
    assert ("default", "a") not in objects(deployment)
    assert ("default", "a") in deployment.cluster_of({"kubeconfig": KUBECONFIG % "https://cluster.example"}).of_kind(
        "ConfigMap"
    )


# --- the day-2 changes of issue 17 ---------------------------------------------------------------------------


def test_a_route_path_change_reaches_the_cluster(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    deployment.up(dev_config(routePath="/moved"))
    (route,) = objects(deployment, "HTTPRoute").values()
    paths = [m["path"]["value"] for rule in route["spec"]["rules"] for m in rule["matches"]]  # type: ignore[index]
    assert paths == ["/moved"]


def test_a_trust_policy_change_updates_the_role_in_place(aws: boto3.Session) -> None:
    irsa = {"credentialsMode": "irsa", "oidcProvider": oidc_provider("ABC")}
    deployment = MotoDeployment(aws)
    deployment.up(dev_config(**irsa))
    other = oidc_provider("XYZ")
    deployment.up(dev_config(credentialsMode="irsa", oidcProvider=other))
    roles = {op for op, key in deployment.changes if key[0] == "aws:iam/role:Role"}
    assert roles == {"update"}
    (role,) = [r for r in aws.client("iam").list_roles()["Roles"] if r["RoleName"].startswith("gateway-irsa")]
    assert "id/XYZ" in json.dumps(role["AssumeRolePolicyDocument"])


def test_an_architecture_and_memory_change_is_an_update_with_every_field_applied(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    deployment.up(dev_config(architecture="x86_64", memorySize="512"))
    assert {op for op, key in deployment.changes if key[0] == "aws:lambda/function:Function"} == {"update"}
    live = aws.client("lambda").get_function(FunctionName="echo")["Configuration"]
    assert (live["Architectures"], live["MemorySize"]) == (["x86_64"], 512)


def test_an_alias_set_on_a_deployed_function_points_at_the_published_version(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    deployment.up(dev_config(alias="live"))
    lambda_ = aws.client("lambda")
    alias = lambda_.get_alias(FunctionName="echo", Name="live")
    published = [v["Version"] for v in lambda_.list_versions_by_function(FunctionName="echo")["Versions"]]
    assert alias["FunctionVersion"] != "$LATEST"
    assert alias["FunctionVersion"] == max((v for v in published if v != "$LATEST"), key=int)


def test_renaming_a_function_with_pinned_names_does_not_collide(aws: boto3.Session) -> None:
    pinned = {"backendName": "lambda-backend", "routeName": "lambda-route"}
    deployment = MotoDeployment(aws)
    deployment.up(dev_config(**pinned))
    deployment.up(dev_config(functionName="renamed", **pinned))
    (backend,) = objects(deployment, "Backend").values()
    assert json.dumps(backend).count("renamed") >= 1
    assert set(objects(deployment, "HTTPRoute")) == {("kgateway-system", "lambda-route")}


def test_create_gateway_true_then_false_then_destroy_leaves_nothing(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws, with_gateway=False)
    deployment.up(dev_config(createGateway="true"))
    assert ("kgateway-system", "http") in objects(deployment, "Gateway")
    deployment.up(dev_config(createGateway="false"))  # the stack stops managing it: the Gateway it made goes
    assert "relinquish" not in [op for op, _ in deployment.changes]
    deployment.destroy()
    assert objects(deployment, "Gateway") == {}


def test_create_gateway_false_then_true_then_destroy_leaves_nothing(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config(createGateway="false"))  # reads the guide's Gateway
    deployment.cluster.objects.pop(("gateway.networking.k8s.io/v1:Gateway", "kgateway-system", "http"))
    deployment.up(dev_config(createGateway="true"))  # the user removed theirs: the stack makes it
    assert ("kgateway-system", "http") in objects(deployment, "Gateway")
    deployment.destroy()
    assert objects(deployment, "Gateway") == {}


@pytest.mark.parametrize("kind", ["Secret", "Backend", "HTTPRoute"])
def test_a_target_replace_of_a_fixed_name_object_does_not_collide(aws: boto3.Session, kind: str) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    (key,) = [k for k in deployment.deployed if k[0].startswith("kubernetes:") and k[0].endswith(f":{kind}")]
    deployment.up(dev_config(), target_replace=[key[1]])
    assert ("replace", key) in deployment.changes
    assert len(objects(deployment, kind)) == 1


def test_a_0_1_stack_upgrades_without_replacing_what_it_made(aws: boto3.Session, tmp_path: Path) -> None:
    deployment = MotoDeployment(aws)
    up_release(deployment, RELEASE_0_1, tmp_path / "0.1", dev_config())
    function_before = aws.client("lambda").get_function(FunctionName="echo")["Configuration"]["FunctionArn"]
    deployment.up(dev_config())
    replaced = {key[0] for op, key in deployment.changes if op in ("replace", "delete")}
    assert not replaced & {"aws:lambda/function:Function", "aws:cloudwatch/logGroup:LogGroup", "aws:iam/user:User"}
    assert aws.client("lambda").get_function(FunctionName="echo")["Configuration"]["FunctionArn"] == function_before


def test_a_childs_own_alias_is_multiplied_by_its_parents_alias(tmp_path: Path) -> None:
    """pulumi/pulumi step_generator.go `generateAliases`: a renamed component's child that also changed its own
    name is found under (the parent's old URN) x (the child's old name), so it moves instead of being re-created
    (the 0.1 -> today upgrade's Secret needs exactly this)."""
    program = tmp_path / "program.py"
    program.write_text(
        textwrap.dedent(
            """
            import pulumi

            class Box(pulumi.ComponentResource):
                def __init__(self, name, opts=None):
                    super().__init__("test:index:Box", name, None, opts)
                    pulumi.CustomResource(
                        "test:index:Thing", "kgateway-system/thing", {},
                        pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(name=f"{name}-thing")]),
                    )

            Box("renamed", pulumi.ResourceOptions(aliases=[pulumi.Alias(name="original")]))
            """
        )
    )
    seen: dict[str, tuple[str, ...]] = {}

    class Recording(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, object]]:
            registration = current_registration()
            assert registration is not None
            seen[registration.urn] = registration.alias_urns
            return f"{args.name}-id", {}

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, object], list[tuple[str, str]]]:
            return {}, []

    run_program(Recording(), {}, program=program)
    prefix = "urn:pulumi:test::kgateway-lambda::test:index:Box$test:index:Thing::"
    (aliases,) = [a for urn, a in seen.items() if urn == prefix + "kgateway-system/thing"]
    assert prefix + "original-thing" in aliases  # the parent's old name x the child's old name
    assert prefix + "renamed-thing" in aliases  # the child's own alias under the current parent


def test_a_reusing_stack_moving_to_its_own_kubernetes_provider_replaces_without_a_collision(
    aws: boto3.Session,
    tmp_path: Path,
) -> None:
    """Item 7, a whole stack: another program reuses the composite on the default Kubernetes provider, then gives
    it a provider of its own for another server of the cluster. The new provider's DiffConfig replaces every
    Kubernetes object; each has a fixed name, so only delete-first replacement avoids AlreadyExists."""
    echo = package_lambda(PROJECT_ROOT / "lambda_src" / "echo", tmp_path / "build", "echo").path
    body = f"""
        from components import LambdaFunctionArgs, LambdaGatewayRoute, LambdaGatewayRouteArgs, RouteOptions
        PROVIDERS
        LambdaGatewayRoute(
            "echo",
            LambdaGatewayRouteArgs(
                function=LambdaFunctionArgs(function_name="echo", code=pulumi.FileArchive({str(echo)!r})),
                routes=[RouteOptions(path="/echo")],
                backend={{"kgateway_version": "v2.4"}},
            ),
            opts=OPTIONS,
        )
        """
    config = {"aws:region": "us-east-1", "kubernetes:kubeconfig": KUBECONFIG % "https://10.0.0.1"}
    default = textwrap.dedent(body).replace("PROVIDERS", "").replace("OPTIONS", "None")
    own = textwrap.dedent(body).replace(
        "PROVIDERS", f"own = k8s.Provider('own', kubeconfig={KUBECONFIG % 'https://cluster.example'!r})"
    )
    own = own.replace("OPTIONS", "pulumi.ResourceOptions(providers={'kubernetes': own})")
    deployment = MotoDeployment(aws)
    deployment.up(config, program=program(tmp_path, default))
    deployment.up(config, program=program(tmp_path, own))
    replaced = {key[0].rsplit(":", 1)[-1] for op, key in deployment.changes if op == "replace"}
    assert {"Secret", "Backend", "HTTPRoute"} <= replaced
    moved_to = deployment.cluster_of({"kubeconfig": KUBECONFIG % "https://cluster.example"})
    assert set(moved_to.of_kind("HTTPRoute")) == {("kgateway-system", "echo")}
    assert set(moved_to.of_kind("Backend")) == {("kgateway-system", "echo")}
    assert objects(deployment, "HTTPRoute") == {} and objects(deployment, "Backend") == {}
