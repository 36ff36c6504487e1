"""The components' type tokens, and the tokens they had before 0.2.0 (kept as aliases, so URNs do not move)."""

import pulumi

PACKAGE = "kgateway-lambda"


def component_options(
    component: str, old_module: str | None, opts: pulumi.ResourceOptions | None
) -> pulumi.ResourceOptions:
    """The caller's options, plus an alias to `kgateway-lambda:<old_module>:<component>` where there was one."""
    if old_module is None:
        return opts or pulumi.ResourceOptions()
    moved = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=f"{PACKAGE}:{old_module}:{component}")])
    return pulumi.ResourceOptions.merge(opts, moved)


def token(component: str) -> str:
    return f"{PACKAGE}:index:{component}"
