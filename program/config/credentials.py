"""The credentials keys: how the gateway signs its calls to Lambda."""

from __future__ import annotations

import pulumi

from components.credentials import CredentialsMode
from components.validation import (
    OIDC_PROVIDER,
    ROLE_ARN,
    ROTATION,
)
from program.config.reader import Reader
from program.config.settings import CredentialsSettings

CREDENTIALS_MODES: tuple[str, ...] = tuple(m.value for m in CredentialsMode)


def read_credentials(reader: Reader) -> CredentialsSettings:
    mode = reader.choice("credentialsMode", CREDENTIALS_MODES)
    secret_name = reader.dns_subdomain("secretName", "aws-creds")
    rotation = reader.rule("credentialsRotation", ROTATION)
    if mode != "provided":
        for key in ("accessKeyId", "secretAccessKey", "sessionToken"):
            if reader.raw(key) is not None:
                reader.fail(
                    key,
                    "[set]",
                    "is only read when credentialsMode is 'provided'; remove it",
                    "provided",
                )
        if mode == "irsa":
            oidc_provider = reader.rule(
                "oidcProvider",
                OIDC_PROVIDER,
                "is required when credentialsMode is 'irsa': the cluster's IAM OIDC provider ARN or issuer URL",
            )
            parameters_name = (
                reader.dns_subdomain("gatewayParametersName", "lambda-irsa")
                if reader.raw("gatewayParametersName")
                else "lambda-irsa"
            )
            return CredentialsSettings(
                mode="irsa",
                secret_name=secret_name,
                rotation=rotation,
                oidc_provider=oidc_provider,
                gateway_parameters_name=parameters_name,
            )
        if mode == "assume-role":
            reader.warnings.append(
                "credentialsMode 'assume-role': kgateway builds before PR 14632 (merged 2026-09-01, in v2.4.x as "
                "PR 14649) ignore auth.assumeRole.roleArn and sign with the proxy's ambient identity, and builds "
                "from then until the Envoy v1.39.1 bump (PR 14663, 2026-09-07) hang every request when that "
                "identity is IRSA or Pod Identity. Run a kgateway build with both fixes, or use credentialsMode 'irsa'."
            )
            return CredentialsSettings(
                mode="assume-role",
                secret_name=secret_name,
                rotation=rotation,
                ambient_role_arn=reader.rule(
                    "ambientRoleArn",
                    ROLE_ARN,
                    "is required when credentialsMode is 'assume-role': the IAM role ARN the gateway already runs "
                    "as (its IRSA or pod identity role)",
                ),
            )
        previous_rotation = reader.optional_rule("credentialsPreviousRotation", ROTATION)
        if previous_rotation is not None and previous_rotation == rotation:
            reader.fail("credentialsPreviousRotation", previous_rotation, "must differ from credentialsRotation", "1")
        return CredentialsSettings(
            mode="generated", secret_name=secret_name, rotation=rotation, previous_rotation=previous_rotation
        )

    secrets: dict[str, pulumi.Output[str] | None] = {}
    for key, required in (
        ("accessKeyId", True),
        ("secretAccessKey", True),
        ("sessionToken", False),
    ):
        full_key = reader.key(key)
        present = reader.source.get(full_key) is not None
        command = f"pulumi config set --secret {key} <value>"
        if not present:
            if required:
                reader.fail(
                    key,
                    None,
                    f"is required when credentialsMode is 'provided'; set it with `{command}`",
                    command,
                )
            secrets[key] = None
        elif not reader.source.is_secret(full_key):
            # Never echo the value itself: it is key material in plain config.
            reader.fail(
                key,
                "[plain text]",
                f"must be stored encrypted; set it with `{command}`",
                command,
            )
            secrets[key] = None
        else:
            secrets[key] = reader.source.secret(full_key)
    if reader.source.get(reader.key("sessionToken")) is not None:
        reader.warnings.append(
            "credentialsMode 'provided' with a sessionToken: kgateway signs with the stored keys and never "
            "refreshes them, so temporary credentials stop working when they expire. Prefer "
            "credentialsMode 'generated'."
        )
    return CredentialsSettings(
        mode="provided",
        secret_name=secret_name,
        rotation=rotation,
        access_key_id=secrets["accessKeyId"],
        secret_access_key=secrets["secretAccessKey"],
        session_token=secrets.get("sessionToken"),
    )
