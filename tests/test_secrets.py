"""No secret value ever shows: the rig hands the program what the CLI hands it (the decrypted value, its key listed
secret), and every message, log, output and plan leaves the value out, for keys set with `--secret` (whatever
their name, misspelled too) and for keys secret by name even when stored in plain text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from program.config import ConfigError, MappingConfigSource, Redactor, load_settings, secret_by_name
from tests.support.commands import run_tools
from tests.support.fake_aws import FakeAwsMocks
from tests.support.kgateway_reference import MAIN_BACKEND_CRD
from tools.engine import run_program, stack_config
from tools.plan import kubernetes_manifests, plan, plan_document, render_text
from tools.pulumi_cli import offline_plaintext

P = "kgateway-lambda"


def stack_file(directory: Path, name: str, secure: list[str], plain: dict[str, str]) -> Path:
    """A stack file with `secure` keys encrypted (as `pulumi config set --secret` writes them) and `plain` ones."""
    lines = ["config:", "  aws:region: us-east-1", f"  {P}:kgatewayVersion: v2.4"]
    lines += [f"  {key}:\n    secure: v1:CIPHERTEXT{index}" for index, key in enumerate(secure)]
    lines += [f"  {key}: {json.dumps(value)}" for key, value in plain.items()]
    (directory / f"Pulumi.{name}.yaml").write_text("\n".join(lines) + "\n")
    return directory


# Every secret key of the program misspelled, set with --secret; keys of any name set with --secret, with bad values
# (the CLI lists each as secret, whatever its name); and secret-named keys stored in plain text.
MISSPELLED_SECRET = {
    f"{P}:secretAccesKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET1",
    f"{P}:accesKeyId": "AKIASECRETVALUE00002",
    f"{P}:sesionToken": "FwoGZXIvYXdzSECRETTOKEN3",
    f"{P}:functionNme": "SECRETFUNCTION4",  # a misspelled key of any name, set with --secret
    f"{P}:functionName": "bad.name.SECRET5",  # a known key, set with --secret, with a bad value
    f"{P}:memorySize": "987654326",  # decrypts to an integer (the CLI checks the type), out of range
    f"{P}:gatewayName": "Bad_Gateway_SECRET7",
}
SECRET_OBJECT = {f"{P}:routes": json.dumps([{"path": "/ok", "headers": {"x-team": "SECRET8" * 700}}])}
PLAIN_BUT_SECRET_BY_NAME = {
    f"{P}:secretAccessKy": "PLAINSECRET9",  # misspelled and stored in plain text: secret by its name
    f"{P}:sessionTokn": "PLAINSECRET10",
    f"{P}:apiToken": "PLAINSECRET11",
}


def every_text_of(error: BaseException) -> str:
    return "\n".join([str(error), repr(error), *getattr(error, "__notes__", [])])


def test_names_that_mark_a_key_secret() -> None:
    for key in ("secretAccessKey", "secretAccesKey", "accessKeyId", "acessKeyId", "sessionToken", "sesionToken"):
        assert secret_by_name(f"{P}:{key}"), key
    for key in ("aws:secretKey", "aws:accessKey", "aws:token", "x:dbPassword", "x:apiKey"):
        assert secret_by_name(key), key
    for key in ("secretName", "secretNamespace", "functionName", "credentialsMode", "gatewayParametersName"):
        assert not secret_by_name(f"{P}:{key}"), key


def test_no_config_error_shows_a_secret_value(tmp_path: Path) -> None:
    secure = [*MISSPELLED_SECRET, *SECRET_OBJECT]
    stack_file(tmp_path, "leaky", secure, PLAIN_BUT_SECRET_BY_NAME)
    config, secret_keys = stack_config("leaky", tmp_path, {**MISSPELLED_SECRET, **SECRET_OBJECT})
    # What the CLI hands the program: the plaintext, with the key listed as secret.
    assert config[f"{P}:secretAccesKey"] == MISSPELLED_SECRET[f"{P}:secretAccesKey"]
    assert set(secret_keys) == set(secure)
    with pytest.raises(ConfigError) as failure:
        run_program(FakeAwsMocks(), config, secret_keys, stack="leaky")
    shown = every_text_of(failure.value)
    problems = {p.key: str(p) for p in failure.value.problems}
    # Each key is reported, with its value as [secret].
    for key in (*MISSPELLED_SECRET, *PLAIN_BUT_SECRET_BY_NAME):
        assert key in problems, (key, shown)
        assert problems[key].startswith(f"{key} = [secret]: "), problems[key]
    assert "did you mean secretAccessKey?" in problems[f"{P}:secretAccesKey"]
    assert f"{P}:routes[0].headers.x-team" in problems
    for value in [*MISSPELLED_SECRET.values(), *PLAIN_BUT_SECRET_BY_NAME.values(), "SECRET8"]:
        assert value not in shown, value
        assert value[:12] not in shown, value  # not even the cut start of it


def test_the_right_keys_with_the_wrong_mode_or_storage_show_no_value() -> None:
    """accessKeyId/secretAccessKey/sessionToken set in a mode that does not read them, or stored in plain text."""
    values = {"accessKeyId": "AKIAWRONGMODE0001", "secretAccessKey": "WRONGMODESECRET2", "sessionToken": "WRONGTOK3"}
    for mode, secret_keys in (("generated", set(values)), ("provided", set())):
        source = MappingConfigSource({"aws:region": "us-east-1", "credentialsMode": mode, **values}, secret_keys)
        with pytest.raises(ConfigError) as failure:
            load_settings(source)
        shown = every_text_of(failure.value)
        assert len(failure.value.problems) >= 2, shown
        for value in values.values():
            assert value not in shown, (mode, value)


def test_secret_text_is_cut_out_of_every_part_of_a_message() -> None:
    """A secret namespace quoted in another key's rule (`secretNamespace must equal namespace (...)`)."""
    source = MappingConfigSource(
        {"aws:region": "us-east-1", "namespace": "team-hidden", "secretNamespace": "other"}, {"namespace"}
    )
    with pytest.raises(ConfigError) as failure:
        load_settings(source)
    assert "team-hidden" not in every_text_of(failure.value)
    assert "[secret]" in every_text_of(failure.value)
    assert repr(Redactor.of(source)) == "Redactor(1 secret keys)"


def test_the_plan_command_shows_no_decrypted_value(tmp_path: Path) -> None:
    """`python -m tools plan`: config errors, and a stack that plans, with every secret key encrypted."""
    stack_file(tmp_path, "leaky", [*MISSPELLED_SECRET, *SECRET_OBJECT], PLAIN_BUT_SECRET_BY_NAME)
    done = run_tools("plan", "--stack", "leaky", "--stacks-dir", str(tmp_path))
    assert done.returncode == 2 and "invalid stack config" in done.stderr
    for key in [*MISSPELLED_SECRET, *SECRET_OBJECT]:
        assert offline_plaintext(key) not in done.stdout + done.stderr, key
    for value in PLAIN_BUT_SECRET_BY_NAME.values():
        assert value not in done.stdout + done.stderr

    every_secret = [f"{P}:{k}" for k in ("accessKeyId", "secretAccessKey", "sessionToken")]
    every_secret += ["aws:accessKey", "aws:secretKey", "aws:token"]
    stack_file(tmp_path, "sealed", every_secret, {f"{P}:credentialsMode": "provided"})
    for output in ("--json", "--manifests"):
        extra = [str(tmp_path / "manifests")] if output == "--manifests" else []
        done = run_tools(
            "plan", "--stack", "sealed", "--stacks-dir", str(tmp_path), "--kgateway-crd", str(MAIN_BACKEND_CRD), output,
            *extra,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        written = "".join(p.read_text() for p in (tmp_path / "manifests").glob("*.yaml")) if extra else ""
        for key in every_secret:
            assert offline_plaintext(key) not in done.stdout + done.stderr + written, (output, key)


def test_a_planned_stack_shows_no_secret_anywhere(tmp_path: Path) -> None:
    """The plan's text, JSON, manifests, outputs and logs, with real plaintexts the program did receive."""
    every_secret = {
        f"{P}:accessKeyId": "AKIAPLANNEDSECRET001",
        f"{P}:secretAccessKey": "PLANNED/SECRET/ACCESS/KEY/0002",
        f"{P}:sessionToken": "PLANNEDSESSIONTOKEN0003",
        "aws:accessKey": "AKIAPROVIDERSECRET04",
        "aws:secretKey": "PROVIDERSECRETKEY0005",
        "aws:token": "PROVIDERTOKEN0006",
    }
    stack_file(tmp_path, "sealed", list(every_secret), {f"{P}:credentialsMode": "provided"})
    config, secret_keys = stack_config("sealed", tmp_path, every_secret)
    assert {config[k] for k in every_secret} == set(every_secret.values())  # the program got the plaintexts
    run = plan("sealed", stacks_dir=tmp_path, kgateway_crd=MAIN_BACKEND_CRD)
    document = plan_document(run)
    shown = "\n".join([render_text(document), json.dumps(document), json.dumps(kubernetes_manifests(run)), *run.logs])
    assert "[secret]" in shown
    # plan() decrypts offline (no plaintexts given): its values are the offline ones, none of them shown either.
    for key in every_secret:
        assert offline_plaintext(key) not in shown, key
    with_plaintexts = run_program(FakeAwsMocks(), config, secret_keys, stack="sealed")
    outputs = json.dumps(with_plaintexts.outputs, default=str) + "\n".join(with_plaintexts.logs)
    for value in every_secret.values():
        assert value not in outputs, value


def test_provider_credentials_stored_in_plain_text_are_still_redacted(tmp_path: Path) -> None:
    """`aws:token` (a session token), `aws:secretKey` and `aws:accessKey` written without `--secret`: the plan's
    provider settings show [secret], and no value reaches its text, JSON or logs; a config error quoting one of
    them (here as a gateway name) cuts it out too."""
    plain = {
        "aws:accessKey": "AKIAPLAINPROVIDER007",
        "aws:secretKey": "PLAINPROVIDERSECRETKEY0008",
        "aws:token": "PLAINSESSIONTOKEN0009",
    }
    stack_file(tmp_path, "plain", [], plain)
    run = plan("plain", stacks_dir=tmp_path, kgateway_crd=MAIN_BACKEND_CRD)
    document = plan_document(run)
    assert {document["providers"]["aws"][key.removeprefix("aws:")] for key in plain} == {"[secret]"}
    shown = "\n".join([render_text(document), json.dumps(document), *run.logs])
    for value in plain.values():
        assert value not in shown, value
    token = "plainsessiontoken0009"
    source = MappingConfigSource({"aws:region": "us-east-1", "aws:token": token, "gatewayName": f"{token}_"}, set())
    with pytest.raises(ConfigError) as failure:
        load_settings(source)
    assert "kgateway-lambda:gatewayName" in every_text_of(failure.value)
    assert token not in every_text_of(failure.value)
